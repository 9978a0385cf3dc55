"""The grounding node as its own process for the two-process DDS tests: the real node on the dds
transport; only the model is replaced by canned text (argv[1]) computed from the scene's ground truth
(a JSON object in argv[1] maps instructions to texts).

    python -m tests.adapters.ros2_node_proc '<point x="50" y="50">mug</point>' --transport dds
"""

import json
import sys

from molmo_agent.adapters.ros2.node import main
from tests.adapters.helpers import canned_grounder

if __name__ == "__main__":
    text = json.loads(sys.argv[1]) if sys.argv[1].startswith("{") else sys.argv[1]
    sys.exit(main(sys.argv[2:], grounder=canned_grounder(text)))
