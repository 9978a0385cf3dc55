"""TabletopGrasp and Waypoint: MuJoCo RGB-D rendering whose depth, intrinsics and extrinsics agree."""

import math

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from molmo_agent.sims import InvalidActionError, ResetNeeded, held_out_seeds
from molmo_agent.sims.camera import deproject, project, ray_floor_intersection
from molmo_agent.sims.tabletop import TabletopGraspEnv, tabletop_oracle
from molmo_agent.sims.waypoint import WaypointEnv, waypoint_oracle


@pytest.fixture(scope="module")
def tabletop():
    env = TabletopGraspEnv()
    yield env
    env.close()


@pytest.fixture(scope="module")
def waypoint():
    env = WaypointEnv()
    yield env
    env.close()


@pytest.mark.parametrize("make", [TabletopGraspEnv, WaypointEnv])
def test_check_env(make):
    env = make()
    try:
        check_env(env, skip_render_check=False)
    finally:
        env.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tabletop", "waypoint"])
def test_oracle_solves_200_held_out_seeds(name, request):
    env = request.getfixturevalue(name)
    oracle = tabletop_oracle if name == "tabletop" else waypoint_oracle
    successes = 0
    for seed in held_out_seeds(200):
        obs, info = env.reset(seed=seed)
        _, reward, terminated, _, step_info = env.step(oracle(obs, info))
        assert terminated and step_info["success"] == (reward == 1.0)
        successes += reward
    assert successes == 200


@pytest.mark.parametrize("name", ["tabletop", "waypoint"])
def test_same_seed_same_bytes(name, request):
    env = request.getfixturevalue(name)
    a, info_a = env.reset(seed=1_000_321)
    b, info_b = env.reset(seed=1_000_321)
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].tobytes() == b[key].tobytes()
    assert info_a["segmentation"].tobytes() == info_b["segmentation"].tobytes()
    c, _ = env.reset(seed=1_000_322)
    assert c["image"].tobytes() != a["image"].tobytes()


def test_depth_intrinsics_and_extrinsics_agree_with_the_geometry(tabletop):
    """Project the centre of a flat top, read the rendered depth there, deproject: the same 3D point."""
    checked = 0
    for seed in range(25):
        obs, info = tabletop.reset(seed=seed)
        K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
        for index, obj in enumerate(info["objects"]):
            if obj["category"] not in ("can", "block", "mug"):
                continue
            top = np.array([obj["position"][0], obj["position"][1], obj["height"]])
            u, v = np.round(project(top[None], K, T)[0]).astype(int)
            if not (0 <= u < 320 and 0 <= v < 240) or info["segmentation"][v, u] != index + 1:
                continue  # off screen or hidden behind another object
            point = deproject(u, v, float(obs["depth"][v, u]), K, T)
            assert abs(point[2] - top[2]) < 0.004, (seed, obj["name"], point, top)
            assert np.linalg.norm(point[:2] - top[:2]) < 0.01, (seed, obj["name"], point, top)
            checked += 1
    assert checked >= 20


def test_masks_cover_the_projected_objects(tabletop):
    inside = total = 0
    for seed in range(10):
        _, info = tabletop.reset(seed=seed)
        K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
        for index, obj in enumerate(info["objects"]):
            centre = np.array([obj["position"][0], obj["position"][1], obj["height"] / 2])
            u, v = np.round(project(centre[None], K, T)[0]).astype(int)
            if 0 <= u < 320 and 0 <= v < 240:
                total += 1
                inside += info["segmentation"][v, u] == index + 1
    assert total >= 30 and inside / total > 0.8  # the rest are occluded by nearer objects


def test_grasping_the_wrong_object_or_from_below_fails(tabletop):
    for seed in range(15):
        obs, info = tabletop.reset(seed=seed)
        other = next(i for i in range(len(info["objects"])) if i != info["target_index"])
        grasp = [*info["objects"][other]["grasp_point"], 0, 0, -1]
        _, reward, *_ = tabletop.step(grasp)
        assert reward == 0.0
        obs, info = tabletop.reset(seed=seed)
        _, reward, *_ = tabletop.step([*info["objects"][info["target_index"]]["grasp_point"], 0, 0, 1])
        assert reward == 0.0


def test_floor_pixels_map_back_to_the_landmarks(waypoint):
    """The lowest pixel of a round landmark's mask is its floor contact: the ray there hits its footprint."""
    checked = 0
    for seed in range(15):
        _, info = waypoint.reset(seed=seed)
        K, T = np.array(info["intrinsics"]["K"]), np.array(info["T_base_camera"])
        assert T[2][3] == pytest.approx(info["camera_height"])
        assert -T[2][2] == pytest.approx(math.sin(math.radians(info["camera_pitch_deg"])))
        for index, mark in enumerate(info["landmarks"]):
            if mark["category"] not in ("ball", "barrel", "pillar", "crate"):
                continue
            vs, us = np.nonzero(info["segmentation"] == index + 1)
            if len(vs) < 40 or vs.max() >= 239:
                continue
            bottom = vs.max()
            u = us[vs == bottom].mean()
            if info["segmentation"][bottom + 1, int(round(u))] != 0:
                continue  # its base is hidden behind a nearer landmark
            hit = ray_floor_intersection(u, bottom, K, T)
            distance = math.hypot(hit[0] - mark["position"][0], hit[1] - mark["position"][1])
            assert distance < mark["radius"] + 0.1, (seed, mark, hit)
            checked += 1
    assert checked >= 10


def test_bad_input_raises_typed_errors(tabletop, waypoint):
    for env, bad in ((tabletop, [0, 0, 0]), (waypoint, [np.nan, 1.0])):
        env.reset(seed=0)
        with pytest.raises(InvalidActionError):
            env.step(bad)
        env.step(env.action_space.sample())
        with pytest.raises(ResetNeeded):
            env.step(env.action_space.sample())


def test_waypoint_colors_option_limits_the_landmarks_colours(waypoint):
    default_image = waypoint.reset(seed=1)[0]["image"]
    for seed in range(4):
        _, info = waypoint.reset(seed=seed, options={"colors": ["green"]})
        assert len(info["landmarks"]) >= 3 and {o["color"] for o in info["landmarks"]} == {"green"}
        assert len({o["category"] for o in info["landmarks"]}) == len(info["landmarks"])  # told apart by shape
        _, info = waypoint.reset(seed=seed, options={"colors": ["red", "blue"]})
        assert {o["color"] for o in info["landmarks"]} <= {"red", "blue"}
    # without the option a seed's scene is the one it always was
    assert np.array_equal(waypoint.reset(seed=1)[0]["image"], default_image)
    assert np.array_equal(waypoint.reset(seed=1, options={})[0]["image"], default_image)


@pytest.mark.parametrize("colors", [[], "green", ["teal"], ["green", "mauve"]])
def test_waypoint_bad_colors_option_raises_before_the_scene_changes(waypoint, colors):
    from molmo_agent.sims.errors import SimsConfigError

    obs, _ = waypoint.reset(seed=3)
    with pytest.raises(SimsConfigError, match="colors"):
        waypoint.reset(seed=4, options={"colors": colors})
    assert waypoint.step(waypoint_oracle(obs, waypoint._info()))[1] == 1.0  # seed 3's episode is still on
