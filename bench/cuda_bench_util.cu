#include "bench/cuda_bench_util.h"

#include <cuda_runtime.h>
#include <cudnn.h>  // types only: the functions are resolved with dlsym
#include <dlfcn.h>

namespace rewire {
namespace bench_cuda {
namespace {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct Cudnn {
  decltype(&cudnnCreate) create = nullptr;
  decltype(&cudnnCreateTensorDescriptor) create_desc = nullptr;
  decltype(&cudnnSetTensor4dDescriptor) set_4d = nullptr;
  decltype(&cudnnBatchNormalizationForwardTraining) bn_train = nullptr;
  decltype(&cudnnBatchNormalizationForwardInference) bn_infer = nullptr;
  decltype(&cudnnGetErrorString) error_string = nullptr;
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x_desc = nullptr, bn_desc = nullptr;
  int shape[4] = {0, 0, 0, 0};
  std::string error;
};
#pragma GCC diagnostic pop

Cudnn& GetCudnn() {
  static Cudnn* cudnn = [] {
    auto* c = new Cudnn;
    void* lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_GLOBAL);
    if (lib == nullptr) lib = dlopen("libcudnn.so", RTLD_NOW | RTLD_GLOBAL);
    if (lib == nullptr) {
      c->error = std::string("cuDNN not loadable: ") + dlerror();
      return c;
    }
    c->create = reinterpret_cast<decltype(c->create)>(dlsym(lib, "cudnnCreate"));
    c->create_desc = reinterpret_cast<decltype(c->create_desc)>(
        dlsym(lib, "cudnnCreateTensorDescriptor"));
    c->set_4d = reinterpret_cast<decltype(c->set_4d)>(
        dlsym(lib, "cudnnSetTensor4dDescriptor"));
    c->bn_train = reinterpret_cast<decltype(c->bn_train)>(
        dlsym(lib, "cudnnBatchNormalizationForwardTraining"));
    c->bn_infer = reinterpret_cast<decltype(c->bn_infer)>(
        dlsym(lib, "cudnnBatchNormalizationForwardInference"));
    c->error_string = reinterpret_cast<decltype(c->error_string)>(
        dlsym(lib, "cudnnGetErrorString"));
    if (!c->create || !c->create_desc || !c->set_4d || !c->bn_train ||
        !c->bn_infer || !c->error_string) {
      c->error = "cuDNN lacks the legacy batch norm API";
      return c;
    }
    cudnnStatus_t s = c->create(&c->handle);
    if (s == CUDNN_STATUS_SUCCESS) s = c->create_desc(&c->x_desc);
    if (s == CUDNN_STATUS_SUCCESS) s = c->create_desc(&c->bn_desc);
    if (s != CUDNN_STATUS_SUCCESS) {
      c->error = std::string("cuDNN init: ") + c->error_string(s);
    }
    return c;
  }();
  return *cudnn;
}

std::string Error(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? std::string()
                                   : std::string(GetCudnn().error_string(s));
}

}  // namespace

GpuTimer::GpuTimer() {
  cudaEvent_t a = nullptr, b = nullptr;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  start_ = a;
  stop_ = b;
}

GpuTimer::~GpuTimer() {
  if (start_ != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  if (stop_ != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

void GpuTimer::Start() { cudaEventRecord(static_cast<cudaEvent_t>(start_), 0); }

float GpuTimer::StopMs() {
  cudaEvent_t stop = static_cast<cudaEvent_t>(stop_);
  if (cudaEventRecord(stop, 0) != cudaSuccess) return -1.0f;
  if (cudaEventSynchronize(stop) != cudaSuccess) return -1.0f;
  float ms = 0.0f;
  if (cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), stop) !=
      cudaSuccess) {
    return -1.0f;
  }
  return ms;
}

std::string CopyDeviceToDevice(void* dst, const void* src, int64_t bytes) {
  const cudaError_t e = cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes),
                                        cudaMemcpyDeviceToDevice, 0);
  return e == cudaSuccess ? std::string() : std::string(cudaGetErrorString(e));
}

std::string CudnnAvailable() { return GetCudnn().error; }

std::string CudnnBatchNormForward(bool training, int n, int c, int h, int w,
                                  const void* x, void* y, const void* scale,
                                  const void* bias, void* running_mean,
                                  void* running_var, void* save_mean,
                                  void* save_invvar, double momentum,
                                  double eps) {
  Cudnn& d = GetCudnn();
  if (!d.error.empty()) return d.error;
  if (d.shape[0] != n || d.shape[1] != c || d.shape[2] != h || d.shape[3] != w) {
    cudnnStatus_t s =
        d.set_4d(d.x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w);
    if (s == CUDNN_STATUS_SUCCESS) {
      s = d.set_4d(d.bn_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, c, 1, 1);
    }
    if (s != CUDNN_STATUS_SUCCESS) return Error(s);
    d.shape[0] = n;
    d.shape[1] = c;
    d.shape[2] = h;
    d.shape[3] = w;
  }
  const float one = 1.0f, zero = 0.0f;
  if (training) {
    return Error(d.bn_train(d.handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                            d.x_desc, x, d.x_desc, y, d.bn_desc, scale, bias,
                            momentum, running_mean, running_var, eps, save_mean,
                            save_invvar));
  }
  return Error(d.bn_infer(d.handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                          d.x_desc, x, d.x_desc, y, d.bn_desc, scale, bias,
                          running_mean, running_var, eps));
}

}  // namespace bench_cuda
}  // namespace rewire
