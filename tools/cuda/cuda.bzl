"""nvcc integration: each .cu becomes an object through a genrule, wrapped in a cc_library.

Targets are built only with --config=cuda (--define=cuda=1); otherwise they are
marked incompatible and `bazel build/test //...` skips them.
"""

CUDA_ONLY = select({
    "//tools/cuda:enabled": [],
    "//conditions:default": ["@platforms//:incompatible"],
})

def cuda_library(name, srcs, hdrs = [], textual_hdrs = [], deps = [], nvcc_flags = [], **kwargs):
    """Compiles srcs with nvcc; textual_hdrs are headers the .cu files include."""
    objs = []
    for src in srcs:
        obj = "_cuda_objs/%s/%s.o" % (name, src.rsplit(".", 1)[0])
        native.genrule(
            name = "%s_%s_nvcc" % (name, src.replace("/", "_").replace(".", "_")),
            srcs = [src] + hdrs + textual_hdrs,
            outs = [obj],
            cmd = " ".join([
                "$(CUDA_PATH)/bin/nvcc",
                "-ccbin",
                "/usr/bin/g++",
                "-std=c++17",
                "-O3",
                "-Xcompiler",
                "-fPIC",
                "-I.",
                "-I$(GENDIR)",
                "-gencode=arch=compute_90,code=sm_90",
                "-gencode=arch=compute_80,code=sm_80",
            ] + nvcc_flags + [
                "-c",
                "$(location %s)" % src,
                "-o",
                "$@",
            ]),
            target_compatible_with = CUDA_ONLY,
        )
        objs.append(obj)
    native.cc_library(
        name = name,
        srcs = objs,
        hdrs = hdrs,
        deps = deps + ["//tools/cuda:cudart"],
        alwayslink = True,
        target_compatible_with = CUDA_ONLY,
        **kwargs
    )
