import IRNWire
import ZeroMQ

/// Received frames decode in place (no copy out of libzmq's buffers before the checks).
extension Frame: WireFrame {}
