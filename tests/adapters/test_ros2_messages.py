"""ROS 2 wire format, message decoding, frame synchronization and the TF buffer (no DDS traffic)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from molmo_agent.adapters.errors import DdsConfigError, MessageError, StaleFrameError, TransformLookupError
from molmo_agent.adapters.ros2 import conversions, messages
from molmo_agent.adapters.ros2.dds_transport import check_dds_config
from molmo_agent.adapters.ros2.sync import FrameSynchronizer
from molmo_agent.adapters.ros2.tf_buffer import TfBuffer


def test_header_is_plain_little_endian_cdr_as_ros2_writes_it():
    data = messages.Header(stamp=messages.Time(sec=7, nanosec=9), frame_id="cam").serialize()
    # encapsulation CDR_LE (XCDR1), options 0; int32 sec; uint32 nanosec; string = uint32 len incl. NUL + bytes
    expected = bytes([0, 1, 0, 0]) + struct.pack("<iII", 7, 9, 4) + b"cam\x00"
    assert data == expected


def test_type_and_topic_names_follow_rmw_cyclonedds():
    assert messages.Image.__idl_typename__ == "sensor_msgs::msg::dds_::Image_"
    assert messages.CameraInfo.__idl_typename__ == "sensor_msgs::msg::dds_::CameraInfo_"
    assert messages.TFMessage.__idl_typename__ == "tf2_msgs::msg::dds_::TFMessage_"
    assert messages.PoseStamped.__idl_typename__ == "geometry_msgs::msg::dds_::PoseStamped_"
    assert messages.ros_topic("/tf") == "rt/tf"


def test_camera_info_field_layout_round_trips():
    info = messages.CameraInfo(width=640, height=480, distortion_model="plumb_bob", d=[0.1, -0.2, 0, 0, 0.01],
                               k=[500.0, 0, 320, 0, 510, 240, 0, 0, 1])
    back = messages.CameraInfo.deserialize(info.serialize())
    model = conversions.camera_info_to_model(back)
    assert (model.fx, model.fy, model.cx, model.cy) == (500.0, 510.0, 320.0, 240.0)
    assert model.is_distorted and model.d.tolist() == [0.1, -0.2, 0, 0, 0.01]


def test_depth_16uc1_is_millimetres_and_zero_is_missing():
    depth = np.array([[0, 1000], [2500, 65535]], np.uint16)
    msg = conversions.numpy_to_image(depth, "16UC1", messages.Header())
    meters = conversions.depth_image_to_meters(messages.Image.deserialize(msg.serialize()))
    assert np.isnan(meters[0, 0])
    assert meters[0, 1] == pytest.approx(1.0) and meters[1, 0] == pytest.approx(2.5)
    assert meters[1, 1] == pytest.approx(65.535)


def test_depth_32fc1_is_metres_and_nan_or_negative_is_missing():
    depth = np.array([[np.nan, 0.75], [-1.0, np.inf]], np.float32)
    meters = conversions.depth_image_to_meters(conversions.numpy_to_image(depth, "32FC1", messages.Header()))
    assert meters[0, 1] == pytest.approx(0.75)
    assert np.isnan(meters[0, 0]) and np.isnan(meters[1, 0]) and np.isnan(meters[1, 1])


def test_big_endian_depth_is_decoded():
    depth = np.array([[1234]], ">u2")
    msg = messages.Image(height=1, width=1, encoding="16UC1", is_bigendian=1, step=2, data=depth.tobytes())
    assert conversions.depth_image_to_meters(msg)[0, 0] == pytest.approx(1.234)


def test_bgr8_is_reordered_to_rgb_and_row_padding_is_skipped():
    bgr = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)
    padded = np.concatenate([bgr.reshape(1, 6), np.zeros((1, 2), np.uint8)], axis=1)
    msg = messages.Image(height=1, width=2, encoding="bgr8", step=8, data=padded.tobytes())
    assert conversions.color_image_to_rgb(msg).tolist() == [[[3, 2, 1], [6, 5, 4]]]


@pytest.mark.parametrize("encoding,step,size,match", [
    ("yuv422", 4, 8, "unsupported color encoding"), ("rgb8", 6, 5, "expected height"),
])
def test_bad_color_images_raise_message_error(encoding, step, size, match):
    msg = messages.Image(height=1, width=2, encoding=encoding, step=step, data=bytes(size))
    with pytest.raises(MessageError, match=match):
        conversions.color_image_to_rgb(msg)


def test_unsupported_depth_encoding_and_uncalibrated_camera_raise():
    with pytest.raises(MessageError, match="unsupported depth encoding"):
        conversions.depth_image_to_meters(messages.Image(height=1, width=1, encoding="rgb8", step=3, data=bytes(3)))
    with pytest.raises(MessageError, match="not calibrated"):
        conversions.camera_info_to_model(messages.CameraInfo(width=4, height=4))


def test_transform_message_to_matrix_and_non_unit_quaternion():
    q = Rotation.from_euler("z", 90, degrees=True).as_quat()
    tf = messages.Transform(translation=messages.Vector3(x=1.0, y=2.0, z=3.0),
                            rotation=messages.Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))
    matrix = conversions.transform_to_matrix(tf)
    np.testing.assert_allclose(matrix @ [1, 0, 0, 1], [1, 3, 3, 1], atol=1e-12)
    tf.rotation = messages.Quaternion(x=0.0, y=0.0, z=0.0, w=2.0)
    with pytest.raises(MessageError, match="unit quaternion"):
        conversions.transform_to_matrix(tf)


def test_synchronizer_pairs_by_stamp_and_refuses_stale_or_unpaired_frames():
    sync = FrameSynchronizer(slop_s=0.01, max_age_s=0.5)
    with pytest.raises(StaleFrameError, match="no color, depth, info"):
        sync.latest(now_ns=0)
    sync.add("color", 1_000_000_000, "c1")
    sync.add("color", 2_000_000_000, "c2")  # newest color has no depth within 10 ms
    sync.add("depth", 1_004_000_000, "d1")
    sync.add("depth", 2_050_000_000, "d2")
    sync.add("info", 1_000_000_000, "i1")
    sync.add("info", 2_000_000_000, "i2")
    frame = sync.latest(now_ns=1_200_000_000)
    assert (frame.color, frame.depth, frame.info, frame.stamp_ns) == ("c1", "d1", "i1", 1_000_000_000)
    with pytest.raises(StaleFrameError, match="old"):
        sync.latest(now_ns=1_600_000_000)


def test_tf_buffer_chains_frames_and_interpolates_at_the_image_time():
    buffer = TfBuffer()
    base_T_arm0, base_T_arm1 = np.eye(4), np.eye(4)
    base_T_arm1[:3, :3] = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    base_T_arm1[:3, 3] = [2.0, 0.0, 0.0]
    buffer.set_transform("base", "arm", base_T_arm0, stamp_ns=0)
    buffer.set_transform("base", "arm", base_T_arm1, stamp_ns=10)
    arm_T_cam = np.eye(4)
    arm_T_cam[:3, 3] = [1.0, 0.0, 0.0]
    buffer.set_transform("arm", "camera", arm_T_cam, stamp_ns=0, static=True)
    mid = buffer.lookup("base", "camera", stamp_ns=5)
    # halfway: translation (1, 0, 0), rotation 45 deg about z; camera origin at arm x=1
    expected = np.array([1.0 + np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0])
    np.testing.assert_allclose(mid[:3, 3], expected, atol=1e-9)
    inverse = buffer.lookup("camera", "base", stamp_ns=5)
    np.testing.assert_allclose(inverse @ mid, np.eye(4), atol=1e-9)
    with pytest.raises(TransformLookupError, match="do not extrapolate"):
        buffer.lookup("base", "camera", stamp_ns=11)
    with pytest.raises(TransformLookupError, match="not connected"):
        buffer.lookup("map", "camera", stamp_ns=5)


def test_dds_refuses_to_start_without_loopback_config(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CYCLONEDDS_URI"}
    code = (
        "from molmo_agent.adapters.ros2.dds_transport import DdsTransport\n"
        "from molmo_agent.adapters.errors import DdsConfigError\n"
        "import sys\n"
        "try:\n    DdsTransport('n')\nexcept DdsConfigError as e:\n"
        "    print('refused:', e); sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CYCLONEDDS_URI is not set" in result.stdout


def test_dds_config_must_be_loopback_only(tmp_path, monkeypatch):
    open_config = tmp_path / "open.xml"
    open_config.write_text("<CycloneDDS><Domain><General><AllowMulticast>true</AllowMulticast></General></Domain></CycloneDDS>")
    monkeypatch.setenv("CYCLONEDDS_URI", "file://" + str(open_config))
    with pytest.raises(DdsConfigError, match="loopback"):
        check_dds_config()
    monkeypatch.setenv("CYCLONEDDS_URI", "file://" + str(tmp_path / "missing.xml"))
    with pytest.raises(DdsConfigError, match="does not exist"):
        check_dds_config()
    monkeypatch.setenv("CYCLONEDDS_URI", "file://" + os.path.abspath("configs/cyclonedds-loopback.xml"))
    assert check_dds_config().endswith("cyclonedds-loopback.xml")
