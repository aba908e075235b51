"""PyTorch -> rewire: writes a torch.fx graph as a rewire .pb GraphModule.

Two inputs are accepted:

* a ``torch.fx.GraphModule`` from ``make_fx(..., tracing_mode="fake")``
  (torch 1.13 and later). With 1.13 make_fx cannot trace a module with real
  parameters, so `trace_training` lifts them: the first placeholders of the
  graph are the module's parameters then buffers, in ``named_parameters()``
  then ``named_buffers()`` order; pass ``module=`` (or ``state=``) and they
  become named parameters and buffers bound to those placeholders
  (StateTensor.placeholder), so in-place updates of running statistics land
  in the right buffer.
* a torch 2.x ``torch.export.ExportedProgram`` (``torch.export.export`` or
  ``export_for_training``): the graph signature names the lifted parameters,
  buffers and constants. Buffer mutations the program returns as extra
  outputs are turned back into ``aten.copy_.default(buffer, new_value)`` so
  rewire's executor updates the buffer in place, and only user outputs stay
  in the output node.

Anything that cannot be represented (higher-order ops, submodule or method
calls, Python callables that are not ATen ops, unsupported literal types) is
refused with `UnsupportedError` naming the node; nothing is dropped silently.
"""
import operator

import torch
import torch.fx

from . import proto as _proto

IR_VERSION = 1


class UnsupportedError(ValueError):
    """The graph holds a construct rewire's IR cannot represent."""


_DTYPES = [
    (torch.float32, "DTYPE_FLOAT32"), (torch.float64, "DTYPE_FLOAT64"),
    (torch.float16, "DTYPE_FLOAT16"), (torch.bfloat16, "DTYPE_BFLOAT16"),
    (torch.int64, "DTYPE_INT64"), (torch.int32, "DTYPE_INT32"),
    (torch.int16, "DTYPE_INT16"), (torch.int8, "DTYPE_INT8"),
    (torch.uint8, "DTYPE_UINT8"), (torch.bool, "DTYPE_BOOL"),
    (torch.complex64, "DTYPE_COMPLEX64"), (torch.complex128, "DTYPE_COMPLEX128"),
]
_LAYOUTS = [(torch.strided, "LAYOUT_STRIDED"), (torch.sparse_coo, "LAYOUT_SPARSE_COO"),
            (getattr(torch, "sparse_csr", None), "LAYOUT_SPARSE_CSR")]
_MEMORY_FORMATS = [
    (torch.contiguous_format, "MEMORY_FORMAT_CONTIGUOUS"),
    (torch.channels_last, "MEMORY_FORMAT_CHANNELS_LAST"),
    (torch.channels_last_3d, "MEMORY_FORMAT_CHANNELS_LAST_3D"),
    (torch.preserve_format, "MEMORY_FORMAT_PRESERVE"),
]
# Metadata exported as strings (besides "val", which is structured).
_STRING_META = ("tensor_meta", "stack_trace", "nn_module_stack", "source_fn",
                "source_fn_stack", "original_aten", "torch_fn", "from_node")


def _enum(pb, table, value, what, where):
    for v, name in table:
        if v is not None and value == v:
            return getattr(pb, name)
    raise UnsupportedError(f"{where}: unsupported {what} {value!r}")


def dtype_enum(dtype, where="tensor"):
    return _enum(_proto.messages(), _DTYPES, dtype, "dtype", where)


def _target_name(node):
    t = node.target
    if t is operator.getitem:
        return "getitem"
    if isinstance(t, torch._ops.OpOverload):
        name = str(t)  # "aten.convolution.default"
        if name.count(".") < 2:
            name = f"{t._schema.name.replace('::', '.')}.{t._overloadname or 'default'}"
        return name
    hop = getattr(torch._ops, "HigherOrderOperator", None)
    if hop is not None and isinstance(t, hop):
        raise UnsupportedError(
            f"node '{node.name}': higher-order op {getattr(t, '__name__', t)} "
            "(control flow / wrapped subgraph) cannot be represented in rewire's IR")
    if isinstance(t, torch._ops.OpOverloadPacket):
        raise UnsupportedError(
            f"node '{node.name}': op packet {t} without an overload; "
            "export an ATen-level graph (make_fx / torch.export)")
    raise UnsupportedError(
        f"node '{node.name}': call_function target {getattr(t, '__module__', '')}."
        f"{getattr(t, '__name__', t)} is not an ATen op")


def _argument(pb, value, out, where):
    """Fills proto Argument `out` from a Python literal or fx.Node."""
    if isinstance(value, torch.fx.Node):
        out.node = value.name
    elif value is None:
        out.none.SetInParent()
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, torch.dtype):
        out.dtype = dtype_enum(value, where)
    elif isinstance(value, torch.device):
        out.device = str(value)
    elif isinstance(value, torch.layout):
        out.layout = _enum(pb, _LAYOUTS, value, "layout", where)
    elif isinstance(value, torch.memory_format):
        out.memory_format = _enum(pb, _MEMORY_FORMATS, value, "memory format", where)
    elif isinstance(value, (list, tuple)):
        lst = out.list
        lst.SetInParent()
        for item in value:
            _argument(pb, item, lst.items.add(), where)
    else:
        raise UnsupportedError(
            f"{where}: argument of type {type(value).__name__} ({value!r}) "
            "cannot be represented in rewire's IR")


def _dim(d, out):
    if isinstance(d, int):
        out.size = d
    else:
        try:
            out.size = int(d)  # a SymInt with a concrete hint
        except Exception:  # noqa: BLE001 - a real symbol
            out.symbol = str(d)


def _tensor_meta(t, out, where):
    out.dtype = dtype_enum(t.dtype, where)
    for d in t.shape:
        _dim(d, out.shape.add())
    try:
        strides = t.stride()
        out.strides.extend(int(s) for s in strides)
        out.has_strides = True
    except Exception:  # noqa: BLE001 - sparse / no strides
        out.has_strides = False
    out.device = str(t.device)
    out.requires_grad = bool(t.requires_grad)


def _meta_value(value, out, where):
    if isinstance(value, torch.Tensor):
        _tensor_meta(value, out.tensor, where)
    elif isinstance(value, (list, tuple)):
        lst = out.tensor_list
        lst.SetInParent()
        for item in value:
            entry = lst.items.add()
            if isinstance(item, torch.Tensor):
                _tensor_meta(item, entry.tensor, where)
            elif item is not None:
                raise UnsupportedError(
                    f"{where}: 'val' list holds a {type(item).__name__}")
    elif value is None:
        out.none.SetInParent()
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    else:  # SymInt / SymFloat / other: their text
        out.string_value = str(value)


def _add_tensor(pb, gm_proto, name, tensor, role, placeholder=""):
    t = gm_proto.tensors.add()
    t.name = name
    t.role = getattr(pb, "TENSOR_ROLE_" + role.upper())
    t.dtype = dtype_enum(tensor.dtype, f"tensor '{name}'")
    t.shape.extend(int(s) for s in tensor.shape)
    t.device = str(tensor.device)
    t.requires_grad = bool(tensor.requires_grad)
    t.placeholder = placeholder
    data = tensor.detach().cpu().contiguous().reshape(-1)
    if data.dtype in (torch.bfloat16,):
        data = data.view(torch.int16)
    t.data = data.numpy().tobytes()


def _state_from_module(module):
    params = [(n, p, "parameter") for n, p in module.named_parameters()]
    buffers = [(n, b, "buffer") for n, b in module.named_buffers()]
    return params + buffers


def export_module(gm_or_program, path=None, *, module=None, state=None,
                  mode="train", producer=None):
    """Writes `gm_or_program` as a rewire GraphModule.

    gm_or_program: a torch.fx.GraphModule (make_fx) or a torch.export
      ExportedProgram.
    path: where to write the binary .pb (None: don't write).
    module / state: for a make_fx GraphModule traced with lifted state
      (`trace_training`): the nn.Module whose named_parameters() then
      named_buffers() feed the first placeholders, or an explicit list of
      (name, tensor, "parameter" | "buffer" | "constant") in placeholder order.
    mode: "train" or "eval", the mode the graph was exported in.
    Returns the GraphModule proto message.
    """
    pb = _proto.messages()
    ep = None
    if hasattr(gm_or_program, "graph_signature") and hasattr(gm_or_program, "graph_module"):
        ep = gm_or_program
        gm = ep.graph_module
    elif isinstance(gm_or_program, torch.fx.GraphModule):
        gm = gm_or_program
    else:
        raise UnsupportedError(
            f"expected a torch.fx.GraphModule or ExportedProgram, got "
            f"{type(gm_or_program).__name__}")

    out = pb.GraphModule()
    out.ir_version = IR_VERSION
    out.mode = pb.MODE_EVAL if mode == "eval" else pb.MODE_TRAIN
    out.producer = producer or f"rewire_bridge (torch {torch.__version__})"

    nodes = list(gm.graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    bindings = {}  # placeholder name -> (state name, tensor, role)
    mutations = {}  # output node name -> buffer placeholder node name
    user_output_names = None
    if ep is not None:
        bindings, mutations, user_output_names = _program_bindings(ep, placeholders)
    else:
        if state is None and module is not None:
            state = _state_from_module(module)
        if state:
            if len(state) > len(placeholders):
                raise UnsupportedError(
                    f"{len(state)} state tensors but only {len(placeholders)} placeholders")
            for ph, (name, tensor, role) in zip(placeholders, state):
                bindings[ph.name] = (name, tensor, role)

    get_attr_done = set()
    for node in nodes:
        where = f"node '{node.name}' ({node.op} {node.target})"
        if node.op in ("call_module", "call_method"):
            raise UnsupportedError(
                f"node '{node.name}': {node.op} '{node.target}' cannot be represented "
                "in rewire's IR; trace to ATen ops first (make_fx / torch.export)")
        if node.op == "output":
            continue  # written below
        pn = out.graph.nodes.add()
        pn.name = node.name
        if node.op == "placeholder":
            pn.op = pb.OP_KIND_PLACEHOLDER
            pn.target = node.name
        elif node.op == "get_attr":
            pn.op = pb.OP_KIND_GET_ATTR
            pn.target = node.target
            attr = _fetch_attr(gm, node.target)
            if not isinstance(attr, torch.Tensor):
                raise UnsupportedError(
                    f"node '{node.name}': get_attr '{node.target}' is a "
                    f"{type(attr).__name__} (a submodule / subgraph), not a tensor")
            if node.target not in get_attr_done:
                get_attr_done.add(node.target)
                role = "parameter" if isinstance(attr, torch.nn.Parameter) else "buffer"
                _add_tensor(pb, out, node.target, attr, role)
        elif node.op == "call_function":
            pn.op = pb.OP_KIND_CALL_FUNCTION
            pn.target = _target_name(node)
            for a in node.args:
                _argument(pb, a, pn.args.add(), where)
            for k, v in node.kwargs.items():
                kw = pn.kwargs.add()
                kw.name = k
                _argument(pb, v, kw.value, where)
        else:
            raise UnsupportedError(f"{where}: unknown node kind {node.op}")
        _write_meta(node, pn, where)

    # Buffer mutations returned as outputs (torch.export): copy_ into the buffer.
    for value_name, ph_name in mutations.items():
        pn = out.graph.nodes.add()
        pn.name = f"rewire_copy_{ph_name}"
        pn.op = pb.OP_KIND_CALL_FUNCTION
        pn.target = "aten.copy_.default"
        pn.args.add().node = ph_name
        pn.args.add().node = value_name

    output = [n for n in nodes if n.op == "output"]
    if len(output) != 1:
        raise UnsupportedError(f"graph has {len(output)} output nodes")
    onode = output[0]
    po = out.graph.nodes.add()
    po.name = onode.name
    po.op = pb.OP_KIND_OUTPUT
    result = onode.args[0] if len(onode.args) == 1 else list(onode.args)
    if user_output_names is not None:
        flat = list(result) if isinstance(result, (list, tuple)) else [result]
        result = [v for v in flat
                  if not (isinstance(v, torch.fx.Node) and v.name in mutations)]
        if len(result) == 1 and user_output_names == 1:
            result = result[0]
    _argument(pb, result, po.args.add(), f"output node '{onode.name}'")

    for ph_name, (name, tensor, role) in bindings.items():
        _add_tensor(pb, out, name, tensor, role, placeholder=ph_name)

    if path is not None:
        with open(path, "wb") as f:
            f.write(out.SerializeToString())
    return out


def _tuple_val(node):
    """torch 1.13's make_fx records no "val" on tuple-returning ops
    (native_batch_norm, max_pool2d_with_indices, ...): rebuild it from the
    getitem users' vals (make_fx emits one getitem per output; an output with
    no getitem becomes an absent entry)."""
    t = node.target
    if not isinstance(t, torch._ops.OpOverload) or len(t._schema.returns) < 2:
        return None
    items = [None] * len(t._schema.returns)
    for user in node.users:
        if (user.op == "call_function" and user.target is operator.getitem
                and isinstance(user.args[1], int) and 0 <= user.args[1] < len(items)):
            items[user.args[1]] = user.meta.get("val")
    return tuple(items) if any(v is not None for v in items) else None


def _write_meta(node, pn, where):
    meta = node.meta
    if "val" not in meta and node.op == "call_function":
        val = _tuple_val(node)
        if val is not None:
            meta = {"val": val, **meta}
    for key, value in meta.items():
        if key == "val":
            e = pn.meta.add()
            e.key = "val"
            _meta_value(value, e.value, where)
        elif key in _STRING_META and value is not None:
            e = pn.meta.add()
            e.key = key
            e.value.string_value = str(value)
        elif key == "seq_nr" and isinstance(value, int):
            e = pn.meta.add()
            e.key = key
            e.value.int_value = value


def _fetch_attr(gm, target):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _program_bindings(ep, placeholders):
    """Placeholder bindings and buffer mutations of an ExportedProgram."""
    sig = ep.graph_signature
    state_dict = ep.state_dict
    constants = getattr(ep, "constants", {}) or {}
    by_name = {p.name: p for p in placeholders}
    bindings = {}
    from torch.export.graph_signature import InputKind, OutputKind
    buffer_placeholder = {}
    for spec in sig.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            continue
        ph = spec.arg.name
        if spec.kind == InputKind.PARAMETER:
            bindings[ph] = (spec.target, state_dict[spec.target], "parameter")
        elif spec.kind == InputKind.BUFFER:
            tensor = state_dict[spec.target] if spec.target in state_dict else constants[spec.target]
            bindings[ph] = (spec.target, tensor, "buffer")
            buffer_placeholder[spec.target] = ph
        elif spec.kind == InputKind.CONSTANT_TENSOR:
            bindings[ph] = (spec.target, constants[spec.target], "constant")
        else:
            raise UnsupportedError(
                f"placeholder '{ph}': input kind {spec.kind} is not supported")
        if ph not in by_name:
            raise UnsupportedError(f"placeholder '{ph}' missing from the graph")
    mutations = {}
    user_outputs = 0
    for spec in sig.output_specs:
        if spec.kind == OutputKind.BUFFER_MUTATION:
            mutations[spec.arg.name] = buffer_placeholder[spec.target]
        elif spec.kind == OutputKind.USER_OUTPUT:
            user_outputs += 1
        else:
            raise UnsupportedError(
                f"output '{spec.arg.name}': output kind {spec.kind} is not supported")
    return bindings, mutations, user_outputs


def trace_training(model, *example_inputs):
    """make_fx(tracing_mode="fake") of `model` in its current mode with its
    parameters and buffers lifted to the first placeholders (works with torch
    1.13, which cannot make_fx modules holding real parameters).

    Returns (graph_module, state) for export_module(gm, path, state=state).
    """
    from torch.fx.experimental.proxy_tensor import make_fx
    try:
        from torch.func import functional_call
    except ImportError:  # torch 1.13
        from torch.nn.utils.stateless import functional_call
    state = _state_from_module(model)
    pb = {name: t for name, t, _ in state}

    def f(pb, *xs):
        return functional_call(model, pb, tuple(xs))

    gm = make_fx(f, tracing_mode="fake")(pb, *example_inputs)
    return gm, state


def export_program(model, *example_inputs):
    """torch 2.x: the training-IR ExportedProgram of `model` (in its current
    mode): export_for_training where it exists, else torch.export.export."""
    exporter = getattr(torch.export, "export_for_training", None) or torch.export.export
    return exporter(model, tuple(example_inputs))


def load_state(path):
    """Reads a rewire .pb and returns ({name: numpy array}, mode string)."""
    import numpy as np
    pb = _proto.messages()
    m = pb.GraphModule()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    np_types = {pb.DTYPE_FLOAT32: np.float32, pb.DTYPE_FLOAT64: np.float64,
                pb.DTYPE_FLOAT16: np.float16, pb.DTYPE_INT64: np.int64,
                pb.DTYPE_INT32: np.int32, pb.DTYPE_INT16: np.int16,
                pb.DTYPE_INT8: np.int8, pb.DTYPE_UINT8: np.uint8,
                pb.DTYPE_BOOL: np.bool_}
    tensors = {}
    for t in m.tensors:
        arr = np.frombuffer(t.data, dtype=np_types[t.dtype]).reshape(tuple(t.shape))
        tensors[t.name] = arr
    return tensors, ("eval" if m.mode == pb.MODE_EVAL else "train")


__all__ = ["UnsupportedError", "export_module", "trace_training",
           "export_program", "load_state", "dtype_enum"]
