"""molmo_agent.adapters.ros2: a grounding node for ROS 2 robots (transports: ``rclpy`` and ``dds``).

Nothing heavy is imported here; see ``node`` for the entry point and ``docs/adapters.md``.
"""
