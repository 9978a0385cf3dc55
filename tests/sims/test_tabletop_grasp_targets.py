"""The SDK's grasp targets on real TabletopGrasp scenes: a point on the object's side or just beside
it still gives a grasp the env accepts with top_down_grasp (grasp_from_depth approaches sideways)."""

import numpy as np
import pytest

from molmo_agent.errors import DepthError
from molmo_agent.sims.tabletop import TabletopGraspEnv
from molmo_agent.spaces import CameraIntrinsics
from molmo_agent.targets import grasp_from_depth, top_down_grasp
from tests.adapters.sims_oracles import target_foot


@pytest.fixture(scope="module")
def env():
    env = TabletopGraspEnv()
    yield env
    env.close()


def _scene(env, seed):
    obs, info = env.reset(seed=seed)
    k = info["intrinsics"]
    return obs, info, CameraIntrinsics.from_matrix(k["K"], k["width"], k["height"])


def _grasp_succeeds(env, seed, grasp) -> bool:
    env.reset(seed=seed)
    return env.step([*grasp.position, *grasp.approach])[1] > 0


def test_points_on_the_side_or_beside_the_object_become_successful_grasps(env):
    sideways = top_down = beside = scenes = 0
    for seed in range(1_000_500, 1_000_525):
        obs, info, intrinsics = _scene(env, seed)
        side = target_foot(info)
        if side is None:
            continue
        scenes += 1
        sideways += _grasp_succeeds(env, seed, grasp_from_depth(side, obs["depth"], intrinsics, info["T_base_camera"]))
        top_down += _grasp_succeeds(env, seed, top_down_grasp(side, obs["depth"], intrinsics, info["T_base_camera"]))
        # 4 px below the object's foot: the bare table in front of it
        in_front = (side[0], side[1] + 4)
        beside += _grasp_succeeds(env, seed, top_down_grasp(in_front, obs["depth"], intrinsics,
                                                            info["T_base_camera"]))
    assert scenes >= 15
    # measured on 25 scenes: at the foot 15 (surface normal, often too sideways) vs 24 (top-down);
    # in front 21 (the misses: feet next to another object, which is then nearer)
    assert top_down >= 0.9 * scenes > sideways
    assert beside >= 0.8 * scenes


def test_a_point_on_the_bare_table_far_from_everything_is_refused(env):
    obs, info, intrinsics = _scene(env, 1_000_500)
    standing = info["segmentation"] > 0
    # the pixel of bare table or floor (with depth) farthest from any object
    from scipy import ndimage

    distance = ndimage.distance_transform_edt(~standing)
    row, col = np.unravel_index(np.argmax(np.where(obs["depth"] < 5, distance, 0)), distance.shape)
    with pytest.raises(DepthError, match="nothing stands"):
        top_down_grasp((col + 0.5, row + 0.5), obs["depth"], intrinsics, info["T_base_camera"])
