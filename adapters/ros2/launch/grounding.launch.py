"""ros2 launch file for the molmo-agent grounding node (rclpy transport).

    ros2 launch adapters/ros2/launch/grounding.launch.py model:=/path/to/checkpoint device:=cuda dtype:=bfloat16 \
        target_frame:=base_link \
        color_topic:=/camera/color/image_raw depth_topic:=/camera/aligned_depth_to_color/image_raw \
        camera_info_topic:=/camera/color/camera_info

The node is the Python module ``molmo_agent.adapters.ros2.node`` of the installed molmo-agent
package (no colcon package is needed); it must run with the Python that has molmo-agent installed
and sees rclpy (the system Python of the ROS 2 distribution, or a venv made with
``--system-site-packages``).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration

ARGUMENTS = {
    "python": "python3",
    "model": "",
    "endpoint": "",
    "device": "cpu",
    "dtype": "float32",
    "node_name": "molmo_grounding",
    "namespace": "",
    "color_topic": "/camera/color/image_raw",
    "depth_topic": "/camera/aligned_depth_to_color/image_raw",
    "camera_info_topic": "/camera/color/camera_info",
    "target_frame": "base_link",
    "max_age_s": "1.0",
    "slop_s": "0.05",
}


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=value) for name, value in ARGUMENTS.items()]
    command = [LaunchConfiguration("python"), "-m", "molmo_agent.adapters.ros2.node", "--transport", "rclpy"]
    for name in ARGUMENTS:
        if name == "python":
            continue
        command += ["--" + name.replace("_", "-"), LaunchConfiguration(name)]
    return LaunchDescription([*declared, ExecuteProcess(cmd=command, output="screen", name="molmo_grounding")])
