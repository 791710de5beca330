"""The grid geometry in pgpcodec.maths.grid against values worked out by hand."""

from __future__ import annotations

import pytest

from pgpcodec.errors import UsageError
from pgpcodec.interfaces import BlockGrid
from pgpcodec.maths import grid


def test_tile_grid_of_a_vga_photo():
    # working size: 640 -> 3 tiles = 672, 480 -> 3 tiles = 672; estimated counts 81 (56), 25 (112), 9 (224): 112 is nearest 24
    assert grid.tile_grid(640, 480, tile=224, target_tiles=24) == BlockGrid(112, (672, 672), (640, 480))
    assert grid.tile_grid(640, 480, tile=224, target_tiles=24, overlap=False) == BlockGrid(224, (672, 672), (640, 480))


def test_tile_count_of_a_grid():
    assert grid.tile_count(BlockGrid(112, (672, 672), (640, 480)), 224) == 5 * 5
    assert grid.tile_count(BlockGrid(224, (672, 672), (640, 480)), 224) == 3 * 3
    assert grid.tile_count(BlockGrid(56, (448, 224), (448, 224)), 224) == 5 * 1


def test_proxy_size_of_a_wide_strip():
    # 896x224 at target 2: the paper's tiling cuts 4 tiles (stride 224). Candidates (one side whole tiles):
    # 224x56 -> 1 tile, 448x112 -> 2, 672x168 -> 3, 896x224 -> 4; 448x112 hits the target.
    assert grid.proxy_size(896, 224, tile=224, target_tiles=2) == (448, 112)
    assert grid.proxy_size(896, 224, tile=224, target_tiles=4) == (896, 224)  # within the target: as it is


def test_plan_tiles_maps_a_proxy_back_to_full_resolution():
    plan = grid.plan_tiles(896, 224, tile=224, target_tiles=2, tiling_mode="proxy")
    assert plan.scored == BlockGrid(224, (448, 224), (448, 112))
    # blocks scaled by 896/448 = 2: 448 px, 1 row x 2 columns over the photo
    assert plan.grid == BlockGrid(448, (896, 448), (896, 224))
    same = grid.plan_tiles(896, 224, tile=224, target_tiles=2)
    assert same.scored == same.grid == BlockGrid(224, (896, 224), (896, 224))


def test_unknown_tilings_are_refused():
    assert grid.check_tiling("proxy") == "proxy"
    with pytest.raises(UsageError, match="unknown tiling 'bogus'"):
        grid.plan_tiles(10, 10, tile=224, target_tiles=24, tiling_mode="bogus")
