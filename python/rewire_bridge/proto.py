"""graph.proto message classes, built at run time from a descriptor set.

No generated _pb2.py is shipped (docs: BAZEL_OFFLINE.md, "Python protobuf for
the bridge"): `bazel build //proto:graph_descriptor_set` writes
bazel-bin/proto/graph_descriptor_set.pb, and this module turns it into message
classes with whatever protobuf runtime is installed (3.21 through 5.x+).
Set REWIRE_DESCRIPTOR_SET to use another file.
"""
import os

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PACKAGE = "rewire.proto"
_classes = None


def descriptor_set_path():
    path = os.environ.get("REWIRE_DESCRIPTOR_SET") or os.path.join(
        _REPO, "bazel-bin", "proto", "graph_descriptor_set.pb")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} not found: run `bazel build //proto:graph_descriptor_set` "
            "or set REWIRE_DESCRIPTOR_SET")
    return path


def _message_class(desc):
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.21
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)


class _Namespace:
    pass


def messages():
    """Returns a namespace with every message class and enum of graph.proto,
    e.g. messages().GraphModule, messages().DTYPE_FLOAT32."""
    global _classes
    if _classes is not None:
        return _classes
    fds = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set_path(), "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    ns = _Namespace()
    for fd in fds.file:
        if fd.package != _PACKAGE:
            continue
        fdesc = pool.FindFileByName(fd.name)
        for name, desc in fdesc.message_types_by_name.items():
            setattr(ns, name, _message_class(desc))
        for name, edesc in fdesc.enum_types_by_name.items():
            for v in edesc.values:
                setattr(ns, v.name, v.number)
            setattr(ns, name, edesc)
    _classes = ns
    return ns
