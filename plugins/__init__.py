"""pagelab's built-in strategies, each an ordinary plugin module."""

# The built-in plugin modules, registered directly (not through entry points), so that the
# autoload switch turns off third-party plugins only. Add a new built-in here.
BUILTINS = ("base4k", "pagesize", "clustering", "dmemfs", "folio", "hvo", "memdesc", "thp", "tailpack", "devdax")
