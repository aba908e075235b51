#include "kernels/dnnl_conv.h"

#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace rewire {
namespace ops {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

// A memory of `desc` whose buffer is a rewire Tensor (kept alive in *owner).
absl::StatusOr<memory> Buffer(const memory::desc& desc, Tensor* owner) {
  // As floats, so the element limit counts what a float tensor would.
  const int64_t floats = (static_cast<int64_t>(desc.get_size()) + 3) / 4;
  ASSIGN_OR_RETURN(*owner, Tensor::Empty(ScalarType::kFloat32, {floats}));
  return memory(desc, CpuEngine(), owner->raw_data());
}

absl::Status Run(const Conv2dGeometry& g, const float* x, const float* w,
                 const float* bias, float* y) {
  const dnnl::engine& eng = CpuEngine();
  dnnl::stream stream(eng);
  const memory::dims src_dims = {g.n, g.c, g.h, g.w};
  const memory::dims dst_dims = {g.n, g.o, g.oh, g.ow};
  const bool grouped = g.groups > 1;
  const memory::dims w_dims =
      grouped ? memory::dims{g.groups, g.o / g.groups, g.c / g.groups, g.kh, g.kw}
              : memory::dims{g.o, g.c, g.kh, g.kw};
  const memory::dims strides = {g.stride[0], g.stride[1]};
  const memory::dims dilates = {g.dilation[0] - 1, g.dilation[1] - 1};
  // Symmetric padding: oneDNN's output size, (in - extent + 2 * pad) /
  // stride + 1 in integer division, is then PyTorch's.
  const memory::dims pad = {g.padding[0], g.padding[1]};
  const memory::dims pad_r = pad;
  const memory::desc src_any(src_dims, Dt::f32, Tag::any);
  const memory::desc w_any(w_dims, Dt::f32, Tag::any);
  const memory::desc dst_any(dst_dims, Dt::f32, Tag::any);
  const memory::desc bias_md({g.o}, Dt::f32, Tag::x);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto desc = bias != nullptr
      ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, src_any, w_any,
                                        bias_md, dst_any, strides, dilates, pad, pad_r)
      : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, src_any, w_any,
                                        dst_any, strides, dilates, pad, pad_r);
  const dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);

  memory user_src({src_dims, Dt::f32, Tag::nchw}, eng, const_cast<float*>(x));
  memory user_w({w_dims, Dt::f32, grouped ? Tag::goihw : Tag::oihw}, eng,
                const_cast<float*>(w));
  memory user_dst({dst_dims, Dt::f32, Tag::nchw}, eng, y);
  Tensor src_buf, w_buf, dst_buf, scratch_buf;
  memory src = user_src, wts = user_w, dst = user_dst;
  if (pd.src_desc() != user_src.get_desc()) {
    ASSIGN_OR_RETURN(src, Buffer(pd.src_desc(), &src_buf));
    dnnl::reorder(user_src, src).execute(stream, user_src, src);
  }
  if (pd.weights_desc() != user_w.get_desc()) {
    ASSIGN_OR_RETURN(wts, Buffer(pd.weights_desc(), &w_buf));
    dnnl::reorder(user_w, wts).execute(stream, user_w, wts);
  }
  if (pd.dst_desc() != user_dst.get_desc()) {
    ASSIGN_OR_RETURN(dst, Buffer(pd.dst_desc(), &dst_buf));
  }
  ASSIGN_OR_RETURN(memory scratch, Buffer(pd.scratchpad_desc(), &scratch_buf));
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src},
                                          {DNNL_ARG_WEIGHTS, wts},
                                          {DNNL_ARG_DST, dst},
                                          {DNNL_ARG_SCRATCHPAD, scratch}};
  memory bias_mem;
  if (bias != nullptr) {
    bias_mem = memory(bias_md, eng, const_cast<float*>(bias));
    args.emplace(DNNL_ARG_BIAS, bias_mem);
  }
  dnnl::convolution_forward(pd).execute(stream, args);
  if (dst != user_dst) dnnl::reorder(dst, user_dst).execute(stream, dst, user_dst);
  stream.wait();
  return absl::OkStatus();
}

}  // namespace

absl::Status DnnlConv2d(const Conv2dGeometry& g, const float* x, const float* w,
                        const float* bias, float* y) {
  try {
    return Run(g, x, w, bias, y);
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN convolution failed: ", e.what(),
                                            " (status ", static_cast<int>(e.status), ")"));
  }
}

}  // namespace ops
}  // namespace rewire
