"""Ask the running grounding node for a grasp target and print the PoseStamped it publishes.

Start the node first (this machine, Cyclone DDS on loopback, no ROS 2 needed):

    export CYCLONEDDS_URI=file://$PWD/configs/cyclonedds-loopback.xml
    molmo-agent ros2 node --transport dds --endpoint http://127.0.0.1:8000/v1 --target-frame base_link &
    python examples/ros2_ask_grasp.py "pick up the red mug"

On a ROS 2 machine the same exchange is `ros2 topic pub --once /molmo_grounding/instruction
std_msgs/msg/String "data: 'pick up the red mug'"` and `ros2 topic echo /molmo_grounding/grasp_pose`.
The node needs a camera publishing color, aligned depth, CameraInfo and TF.
"""

import argparse
import json
import time
import uuid

from molmo_agent.adapters.ros2 import messages
from molmo_agent.adapters.ros2.dds_transport import DdsTransport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instruction")
    parser.add_argument("--kind", choices=("grasp", "point"), default="grasp")
    parser.add_argument("--frame", default=None, help="answer in this frame (default: the node's target frame)")
    parser.add_argument("--node", default="/molmo_grounding", help="the node's name (topic prefix)")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    transport = DdsTransport(node_name="molmo_example_client")
    results, poses = [], []
    transport.subscribe(f"{args.node}/result", "std_msgs/String", lambda m: results.append(json.loads(m.data)))
    transport.subscribe(f"{args.node}/grasp_pose", "geometry_msgs/PoseStamped", poses.append)
    ask = transport.publisher(f"{args.node}/instruction", "std_msgs/String")

    request_id = uuid.uuid4().hex[:8]
    request = {"id": request_id, "instruction": args.instruction, "kind": args.kind}
    if args.frame:
        request["frame"] = args.frame
    deadline, sent_at = time.monotonic() + args.timeout, 0.0
    mine = []
    while not mine and time.monotonic() < deadline:
        if time.monotonic() - sent_at > 2.0:  # re-send until the node has discovered us
            ask(messages.String(data=json.dumps(request)))
            sent_at = time.monotonic()
        transport.spin_once(0.1)
        mine = [r for r in results if r.get("id") == request_id]
    transport.spin_once(0.3)  # the pose is published just before the result
    transport.close()
    if not mine:
        raise SystemExit(f"no answer from {args.node} within {args.timeout} s; is the node running?")
    result = mine[0]
    if not result["ok"]:
        raise SystemExit(f"the node refused: {result['error']}")
    print(f"{args.instruction!r}: {result['kind']} at {[round(v, 4) for v in result['position']]} "
          f"in {result['frame']!r} (image pixel {[round(v, 1) for v in result['pixel']]})")
    if poses:
        q = poses[-1].pose.orientation
        print(f"approach orientation (xyzw): {[round(v, 4) for v in (q.x, q.y, q.z, q.w)]}")


if __name__ == "__main__":
    main()
