"""Ask the running grounding node for a grasp target (or a waypoint) through its Ground service.

Start the node first (this machine, Cyclone DDS on loopback, no ROS 2 needed):

    export CYCLONEDDS_URI=file://$PWD/configs/cyclonedds-loopback.xml
    molmo-agent ros2 node --transport dds --endpoint http://127.0.0.1:8000/v1 --target-frame base_link &
    python examples/ros2_ask_grasp.py "pick up the red mug"
    python examples/ros2_ask_grasp.py "go to the door" --mode waypoint --frame map

The node needs a camera publishing color, aligned depth (not for waypoints), CameraInfo and TF.
On a ROS 2 machine the same call is

    ros2 service call /molmo_grounding/ground molmo_agent_interfaces/srv/Ground \\
        "{instruction: 'pick up the red mug', mode: grasp, target_frame: base_link}"

(`molmo-agent ros2 ask "pick up the red mug"` does the same from the shell.)
"""

import argparse

from scipy.spatial.transform import Rotation

from molmo_agent.adapters.ros2.client import GroundingClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instruction")
    parser.add_argument("--mode", choices=("grasp", "point", "waypoint"), default="grasp")
    parser.add_argument("--frame", default="", help="answer in this frame (default: the node's target frame)")
    parser.add_argument("--service", default="/molmo_grounding/ground", help="the node's Ground service")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    with GroundingClient(args.service) as client:
        answer = client.ground(args.instruction, mode=args.mode, target_frame=args.frame, timeout_s=args.timeout)
    if not answer.success:
        raise SystemExit(f"the node could not ground {args.instruction!r}: {answer.message}")
    p = answer.point.point
    print(f"{args.instruction!r}: {args.mode} at ({p.x:.4f}, {p.y:.4f}, {p.z:.4f}) m "
          f"in {answer.point.header.frame_id!r}; model said {answer.raw_answer!r}")
    if args.mode != "point":
        q = answer.pose.pose.orientation
        matrix = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
        if args.mode == "grasp":
            print(f"approach direction (gripper z axis): {matrix[:, 2].round(4).tolist()}")
        else:
            print(f"heading on arrival (x axis): {matrix[:, 0].round(4).tolist()}")


if __name__ == "__main__":
    main()
