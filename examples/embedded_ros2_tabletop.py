"""The embedded model behind the ROS 2 grounding node's core, on MuJoCo tabletop RGB-D frames.

    python examples/embedded_ros2_tabletop.py --episodes 5

Each held-out TabletopGrasp scene is turned into what a robot publishes (sensor_msgs/Image rgb8,
aligned depth 16UC1 in millimetres, CameraInfo with the camera's K, /tf_static base_link -> camera)
and handed to ``GroundingCore``, the transport-free part shared by the node's rclpy and Cyclone DDS
transports. The core asks the shipped model for "pick up the ..." and returns a PoseStamped in
base_link; the script checks it against the sim's own deprojection of the model's pixel, tells
whether the pixel is on the named object, and executes the grasp in the env. It does so with both
grasp strategies of the node (its ``--grasp-strategy``): ``surface_normal`` (the pose is the pixel's
back-projection, checked) and ``top_down`` (the object under or beside the pixel, from above).
"""

import argparse

import numpy as np

CAMERA = "camera_color_optical_frame"
STAMP_NS = 1_700_000_000_000_000_000


def messages_for(obs: dict, info: dict) -> dict:
    """The frame as ROS 2 messages (molmo_agent.adapters.ros2 types; no ROS installation needed)."""
    from scipy.spatial.transform import Rotation

    from molmo_agent.adapters.ros2 import conversions as conv
    from molmo_agent.adapters.ros2 import messages as msg

    head = msg.Header(stamp=msg.Time(*conv.ns_to_stamp_fields(STAMP_NS)), frame_id=CAMERA)
    intr, T = info["intrinsics"], np.asarray(info["T_base_camera"])
    q = Rotation.from_matrix(T[:3, :3]).as_quat()
    mount = msg.TransformStamped(
        header=msg.Header(stamp=head.stamp, frame_id="base_link"), child_frame_id=CAMERA,
        transform=msg.Transform(translation=msg.Vector3(*map(float, T[:3, 3])), rotation=msg.Quaternion(*map(float, q))))
    return {"color": conv.numpy_to_image(obs["image"], "rgb8", head),
            "depth": conv.numpy_to_image(np.round(obs["depth"] * 1000).astype(np.uint16), "16UC1", head),
            "info": msg.CameraInfo(header=head, width=intr["width"], height=intr["height"], distortion_model="plumb_bob",
                                   d=[0.0] * 5, k=[float(v) for v in np.ravel(intr["K"])]),
            "tf_static": msg.TFMessage(transforms=[mount])}


def run(episodes: int = 3, seed: int = 1_000_000) -> dict:
    import gymnasium as gym
    import torch

    import molmo_agent.sims  # noqa: F401 - registers the envs
    from molmo_agent.adapters.ros2.grounding_core import GroundingConfig, GroundingCore, GroundingRequest
    from molmo_agent.demo import embedded_model_dir, make_grounder
    from molmo_agent.sims.camera import deproject

    torch.set_num_threads(1)  # short queries: one thread is fastest
    grounder = make_grounder(embedded_model_dir())
    env = gym.make("molmo_agent/TabletopGrasp-v0")
    consistent = 0
    wins = {"surface_normal": 0, "top_down": 0}
    try:
        for episode_seed in range(seed, seed + episodes):
            obs, info = env.reset(seed=episode_seed)
            frame = messages_for(obs, info)
            results = {}
            for strategy in ("surface_normal", "top_down"):
                core = GroundingCore(grounder, GroundingConfig(target_frame="base_link", depth_window=1,
                                                               grasp_strategy=strategy))
                core.on_color(frame["color"])
                core.on_depth(frame["depth"])
                core.on_camera_info(frame["info"])
                core.on_tf(frame["tf_static"], static=True)
                results[strategy] = core.handle(GroundingRequest(obs["instruction"], kind="grasp"), now_ns=STAMP_NS)
            result = results["surface_normal"]
            if result.error:
                print(f"{obs['instruction']!r}: {result.error}")
                continue
            u, v = result.pixel
            p = result.pose.pose.position
            position = np.array([p.x, p.y, p.z])
            height, width = obs["depth"].shape
            col, row = min(int(u), width - 1), min(int(v), height - 1)  # a point at 100 %: the last pixel
            depth_m = np.round(obs["depth"][row, col] * 1000) / 1000
            # the sim's camera puts pixel centres at integers, the agent layer at i + 0.5
            expected = deproject(u - 0.5, v - 0.5, depth_m, np.asarray(info["intrinsics"]["K"]),
                                 np.asarray(info["T_base_camera"]))
            consistent += bool(np.allclose(position, expected, atol=1e-6))
            on_object = info["segmentation"][row, col] == info["target_index"] + 1
            outcome = {}
            for strategy, strategy_result in results.items():
                if strategy_result.error:
                    outcome[strategy] = f"no grasp ({strategy_result.error.split(':')[0]})"
                    continue
                env.reset(seed=episode_seed)
                _, reward, *_ = env.step([*strategy_result.action.position, *strategy_result.action.approach])
                wins[strategy] += reward > 0
                outcome[strategy] = "succeeded" if reward > 0 else "failed"
            print(f"{obs['instruction']!r}: model {result.model_text.strip()!r} -> pixel ({u:.1f}, {v:.1f}) -> "
                  f"base_link {np.round(position, 3).tolist()}; on the object: {bool(on_object)}; grasp: "
                  f"surface normal {outcome['surface_normal']}, top-down {outcome['top_down']}")
    finally:
        env.close()
    print(f"grasp success: top-down {wins['top_down']}/{episodes}, surface normal {wins['surface_normal']}/"
          f"{episodes}; surface-normal poses equal to the sim's deprojection: {consistent}/{episodes}")
    return {"adapter": "ROS 2 grounding core", "task": "tabletop, top-down",
            "episodes": episodes, "successes": wins["top_down"], "path_ok": f"{consistent}/{episodes} poses",
            "surface_normal_successes": wins["surface_normal"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1_000_000, help="first TabletopGrasp seed (held out)")
    args = parser.parse_args()
    run(args.episodes, args.seed)


if __name__ == "__main__":
    main()
