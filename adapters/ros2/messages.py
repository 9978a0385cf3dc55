"""ROS 2 message types in their DDS wire form, for Cyclone DDS without ROS 2 installed.

ROS 2's ``rmw_cyclonedds`` maps a message ``pkg/msg/Name`` to the DDS type
``pkg::msg::dds_::Name_`` with the fields of the ``.msg`` file in order, encoded as XCDR1
(plain CDR, little endian), and a topic ``/name`` to the DDS topic ``rt/name``. The structs below
follow the official ``.msg`` definitions field by field, so samples written here are read by
``ros2 topic echo`` on a Cyclone-based ROS 2 system and vice versa.

Services (``rmw_cyclonedds_cpp``, src/rmw_node.cpp and serdata.hpp): a service ``/name`` of type
``pkg/srv/Srv`` is two DDS topics, ``rq/nameRequest`` (type ``pkg::srv::dds_::Srv_Request_``) and
``rr/nameReply`` (``pkg::srv::dds_::Srv_Response_``). Each sample starts with a 16-byte request
header, ``uint64 guid`` (the client's request-writer instance handle) and ``int64 seq`` (the
client's sequence number), in the stream's byte order right after the encapsulation header;
the service echoes the header in its reply, and a client keeps only replies carrying its own
guid. Here the header is the first member (``ServiceHeader``) of every request/response struct,
which gives exactly those bytes. An action ``/name`` of type ``pkg/action/A`` is (among others)
the service ``/name/_action/send_goal`` of type ``pkg/action/A_SendGoal``, whose request is
``uint8[16] goal_id`` (unique_identifier_msgs/UUID) followed by the action's goal.

    >>> stamp = Time(sec=3, nanosec=500)
    >>> Header(stamp=stamp, frame_id="camera").frame_id
    'camera'
"""

# No `from __future__ import annotations`: cyclonedds resolves the field types at runtime.

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import cdrv0, final
from cyclonedds.idl.types import array, float64, int32, int64, sequence, uint8, uint32, uint64


def ros_topic(name: str) -> str:
    """DDS topic name of a ROS 2 topic: ``/camera/image`` -> ``rt/camera/image``.

    >>> ros_topic("/camera/color/image_raw")
    'rt/camera/color/image_raw'
    """
    return "rt/" + name.lstrip("/")


def service_topics(name: str) -> tuple[str, str]:
    """DDS (request, reply) topics of a ROS 2 service, as rmw_cyclonedds names them.

    >>> service_topics("/navigate_to_pose/_action/send_goal")
    ('rq/navigate_to_pose/_action/send_goalRequest', 'rr/navigate_to_pose/_action/send_goalReply')
    """
    name = name.lstrip("/")
    return f"rq/{name}Request", f"rr/{name}Reply"


@final
@cdrv0
@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0


@final
@cdrv0
@dataclass
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@final
@cdrv0
@dataclass
class String(IdlStruct, typename="std_msgs::msg::dds_::String_"):
    data: str = ""


@final
@cdrv0
@dataclass
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)


@final
@cdrv0
@dataclass
class RegionOfInterest(IdlStruct, typename="sensor_msgs::msg::dds_::RegionOfInterest_"):
    x_offset: uint32 = 0
    y_offset: uint32 = 0
    height: uint32 = 0
    width: uint32 = 0
    do_rectify: bool = False


@final
@cdrv0
@dataclass
class CameraInfo(IdlStruct, typename="sensor_msgs::msg::dds_::CameraInfo_"):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    distortion_model: str = ""
    d: sequence[float64] = field(default_factory=list)
    k: array[float64, 9] = field(default_factory=lambda: [0.0] * 9)
    r: array[float64, 9] = field(default_factory=lambda: [0.0] * 9)
    p: array[float64, 12] = field(default_factory=lambda: [0.0] * 12)
    binning_x: uint32 = 0
    binning_y: uint32 = 0
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)


@final
@cdrv0
@dataclass
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@final
@cdrv0
@dataclass
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@final
@cdrv0
@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@final
@cdrv0
@dataclass
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@final
@cdrv0
@dataclass
class Transform(IdlStruct, typename="geometry_msgs::msg::dds_::Transform_"):
    translation: Vector3 = field(default_factory=Vector3)
    rotation: Quaternion = field(default_factory=Quaternion)


@final
@cdrv0
@dataclass
class PointStamped(IdlStruct, typename="geometry_msgs::msg::dds_::PointStamped_"):
    header: Header = field(default_factory=Header)
    point: Point = field(default_factory=Point)


@final
@cdrv0
@dataclass
class PoseStamped(IdlStruct, typename="geometry_msgs::msg::dds_::PoseStamped_"):
    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


@final
@cdrv0
@dataclass
class TransformStamped(IdlStruct, typename="geometry_msgs::msg::dds_::TransformStamped_"):
    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    transform: Transform = field(default_factory=Transform)


@final
@cdrv0
@dataclass
class TFMessage(IdlStruct, typename="tf2_msgs::msg::dds_::TFMessage_"):
    transforms: sequence[TransformStamped] = field(default_factory=list)


# ---- services and actions ------------------------------------------------------------------------


@final
@cdrv0
@dataclass
class ServiceHeader(IdlStruct, typename="rmw_cyclonedds::cdds_request_header_t"):
    """rmw_cyclonedds' request header: it is on the wire, but not part of any .srv (name is ours)."""

    guid: uint64 = 0
    seq: int64 = 0


@final
@cdrv0
@dataclass
class GroundRequest(IdlStruct, typename="molmo_agent_interfaces::srv::dds_::Ground_Request_"):
    """``molmo_agent_interfaces/srv/Ground`` request (see interfaces/molmo_agent_interfaces/srv/Ground.srv)."""

    header: ServiceHeader = field(default_factory=ServiceHeader)
    instruction: str = ""
    mode: str = ""
    target_frame: str = ""


@final
@cdrv0
@dataclass
class GroundResponse(IdlStruct, typename="molmo_agent_interfaces::srv::dds_::Ground_Response_"):
    header: ServiceHeader = field(default_factory=ServiceHeader)
    success: bool = False
    message: str = ""
    point: PointStamped = field(default_factory=PointStamped)
    pose: PoseStamped = field(default_factory=PoseStamped)
    raw_answer: str = ""


@final
@cdrv0
@dataclass
class NavigateToPoseGoal(IdlStruct, typename="nav2_msgs::action::dds_::NavigateToPose_Goal_"):
    """``nav2_msgs/action/NavigateToPose`` goal (the same two fields in Humble and Jazzy)."""

    pose: PoseStamped = field(default_factory=PoseStamped)
    behavior_tree: str = ""


@final
@cdrv0
@dataclass
class NavigateToPoseSendGoalRequest(IdlStruct,
                                    typename="nav2_msgs::action::dds_::NavigateToPose_SendGoal_Request_"):
    header: ServiceHeader = field(default_factory=ServiceHeader)
    goal_id: array[uint8, 16] = field(default_factory=lambda: bytes(16))  # unique_identifier_msgs/UUID
    goal: NavigateToPoseGoal = field(default_factory=NavigateToPoseGoal)


@final
@cdrv0
@dataclass
class NavigateToPoseSendGoalResponse(IdlStruct,
                                     typename="nav2_msgs::action::dds_::NavigateToPose_SendGoal_Response_"):
    header: ServiceHeader = field(default_factory=ServiceHeader)
    accepted: bool = False
    stamp: Time = field(default_factory=Time)
