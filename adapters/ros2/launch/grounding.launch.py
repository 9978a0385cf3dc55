"""ros2 launch file for the molmo-agent grounding node (rclpy transport).

    ros2 launch adapters/ros2/launch/grounding.launch.py model:=/path/to/checkpoint device:=cuda dtype:=bfloat16 \
        target_frame:=base_link \
        color_topic:=/camera/color/image_raw depth_topic:=/camera/aligned_depth_to_color/image_raw \
        camera_info_topic:=/camera/color/camera_info \
        nav2_goal:=true ground_frame:=base_footprint

The node is the Python module ``molmo_agent.adapters.ros2.node`` of the installed molmo-agent
package; it must run with the Python that has molmo-agent installed and sees rclpy (the system
Python of the ROS 2 distribution, or a venv made with ``--system-site-packages``). Its Ground
service needs the ``molmo_agent_interfaces`` package (adapters/ros2/interfaces/) built with colcon
and sourced; Nav2 goals need ``nav2_msgs``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration

# Launch argument -> default; each becomes the node option --<name with dashes>=<value>.
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
    "ground_service": "~/ground",
    "target_frame": "base_link",
    "grasp_strategy": "surface_normal",
    "max_age_s": "1.0",
    "slop_s": "0.05",
    "ground_frame": "",
    "nav2_goal": "false",
    "nav2_action": "/navigate_to_pose",
}


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=value) for name, value in ARGUMENTS.items()]
    command = [LaunchConfiguration("python"), "-m", "molmo_agent.adapters.ros2.node", "--transport", "rclpy"]
    for name in ARGUMENTS:
        if name != "python":  # "--opt=VALUE" as one argument, so an empty value stays an (empty) value
            command.append(["--" + name.replace("_", "-") + "=", LaunchConfiguration(name)])
    return LaunchDescription([*declared, ExecuteProcess(cmd=command, output="screen", name="molmo_grounding")])
