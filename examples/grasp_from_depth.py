"""From "the red mug" to a grasp target in the robot's base frame, refused if outside the workspace.

    python examples/grasp_from_depth.py --model path/to/Molmo-7B-D-0924

A synthetic RGB-D frame (a red disc on a grey table, seen from 1 m above at 60 degrees pitch) stands
in for a camera. Without --model/--endpoint a canned answer pointing at the disc stands in for Molmo.
"""

import argparse
import math

import numpy as np
from PIL import Image, ImageDraw

from molmo_agent.backends import CannedBackend, LocalMolmoBackend, OpenAIChatBackend
from molmo_agent.grounder import Grounder
from molmo_agent.safety import SafetyPolicy, WorkspaceBounds
from molmo_agent.spaces import CameraIntrinsics, camera_pose_from_height_pitch
from molmo_agent.targets import grasp_from_depth

K = CameraIntrinsics(fx=525.0, fy=525.0, cx=319.5, cy=239.5, width=640, height=480)
T_BASE_CAMERA = camera_pose_from_height_pitch(1.0, math.radians(60))


def synthetic_frame() -> tuple[Image.Image, np.ndarray]:
    """RGB and metric depth of the floor plane z=0 with a red disc drawn on it."""
    rows, cols = np.mgrid[0:480, 0:640]
    rays = np.stack([(cols - K.cx) / K.fx, (rows - K.cy) / K.fy, np.ones((480, 640))], -1)
    rays_base = rays @ T_BASE_CAMERA[:3, :3].T
    depth = (-T_BASE_CAMERA[2, 3] / rays_base[..., 2]).astype(np.float32)  # z-depth, since ray z = 1
    depth[rays_base[..., 2] >= 0] = 0.0  # above the horizon: no return
    rgb = Image.new("RGB", (640, 480), (128, 128, 128))
    ImageDraw.Draw(rgb).ellipse([380, 300, 420, 340], fill=(220, 20, 20))
    return rgb, depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--query", default="the red mug")
    parser.add_argument("--model")
    parser.add_argument("--endpoint")
    args = parser.parse_args()
    if args.endpoint:
        backend = OpenAIChatBackend(args.endpoint)
    elif args.model:
        backend = LocalMolmoBackend.from_pretrained(args.model, max_new_tokens=64)
    else:
        backend = CannedBackend('<point x="62.5" y="66.7" alt="red mug">red mug</point>')

    rgb, depth = synthetic_frame()
    point = Grounder(backend).point(rgb, args.query)
    if point is None:
        print("the model found nothing")
        return
    grasp = grasp_from_depth(point, depth, K, T_BASE_CAMERA, frame="base_link", label=args.query)
    print(f"pixel ({point.x:.1f}, {point.y:.1f}) -> grasp at {np.round(grasp.position, 3).tolist()} m, "
          f"approach {np.round(grasp.approach, 3).tolist()}")

    policy = SafetyPolicy(workspace=WorkspaceBounds(low=(0.3, -0.4, -0.05), high=(1.2, 0.4, 0.5)))
    decision = policy.execute(grasp, executor=lambda action: print("-> would send to the arm:", action.to_json()))
    print(f"policy: {decision.rule} - {decision.reason}")


if __name__ == "__main__":
    main()
