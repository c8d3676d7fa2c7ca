"""Figure colours depend on a strategy's name only: installing a plugin recolours nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import matplotlib.colors

from pagelab.figures.style import (
    BUILTIN_COLOURS,
    palette,
    shade,
    strategy_colors,
    strategy_colour,
)
from pagelab.strategies.registry import BUILTIN, registry

from .test_plugins import write_plugin

# The figures' colours of every installed strategy (each with its declared colour, as a sweep
# manifest records it) and of a foreign name.
PRINT_COLOURS = """
import json
from pagelab.figures.style import paper_style, strategy_colors
from pagelab.strategies.registry import installed_strategies
with paper_style({name: r.spec.colour for name, r in installed_strategies().items()}):
    print(json.dumps(strategy_colors(["zz_foreign"])))
"""


def colours_in_a_fresh_process(env: dict[str, str]) -> dict[str, str]:
    environment = {**os.environ, **env}
    result = subprocess.run([sys.executable, "-c", PRINT_COLOURS], env=environment, capture_output=True, text=True,
                            check=True, timeout=120)
    return json.loads(result.stdout)


def test_installing_a_plugin_recolours_no_other_strategy(tmp_path):
    before = colours_in_a_fresh_process({"PYTHONHASHSEED": "1"})
    # Two more strategies, one of them sorting before every built-in: the sorted-registry rule
    # would have shifted every colour after it.
    plugins = [write_plugin(tmp_path, "aaa_first"), write_plugin(tmp_path, "page8k")]
    after = colours_in_a_fresh_process({"PYTHONHASHSEED": "2", "PAGELAB_PLUGINS": os.pathsep.join(map(str, plugins))})
    assert set(after) - set(before) == {"aaa_first", "page8k"}
    assert {name: after[name] for name in before} == before


def test_builtins_have_fixed_distinct_colours_of_the_palette():
    builtins = sorted(name for info in registry().plugins if info.kind == BUILTIN for name in info.strategies)
    assert set(builtins) <= set(BUILTIN_COLOURS)
    colours = [strategy_colour(name) for name in builtins]
    assert len(set(colours)) == len(colours)
    # The first seven keep the colours they had in the sorted registry of seven: palette order.
    assert [strategy_colour(n) for n in ("base4k", "clustering", "dmemfs", "folio", "hvo", "page16k", "page64k")] == \
        list(palette()[:7])


def test_other_names_hash_to_a_darker_palette_shade_and_a_declared_colour_wins():
    colour = strategy_colour("zoned")
    assert colour == strategy_colour("zoned")  # SHA-256 of the name, never Python's salted hash
    assert colour in {shade(c, rank) for c in palette() for rank in (1, 2)}
    assert colour not in {strategy_colour(name) for name in BUILTIN_COLOURS}
    assert strategy_colour("zoned", "tab:purple") == matplotlib.colors.to_hex("tab:purple")
    assert strategy_colors(["zz_foreign"])["zz_foreign"] == strategy_colour("zz_foreign")
