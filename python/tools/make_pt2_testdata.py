"""Writes tests/testdata/pt2/: .pt2 archives made by torch.export.save, and
hostile zip archives for the archive reader's tests.

Run with pip's torch 2.x (python3); the torch version that made each archive
goes into tests/testdata/pt2/README.md. Random weights from a fixed seed; no
downloads.
"""
import io
import os
import struct
import sys
import zipfile
import zlib

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "testdata", "pt2")


class ConvBnDrop(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.drop = torch.nn.Dropout(0.2)
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        x = self.drop(torch.relu(self.bn(self.conv(x))))
        return self.fc(x.flatten(1))


def save_npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array)


def write_models():
    torch.manual_seed(0)
    m = ConvBnDrop()
    # Non-trivial running statistics, so that eval differs from train.
    with torch.no_grad():
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 4, 4)
    m.train()
    ep = torch.export.export(m, (x,))
    torch.export.save(ep, os.path.join(OUT, "conv_bn_dropout.train.pt2"))
    save_npy(os.path.join(OUT, "conv_bn_dropout.x.npy"), x.numpy())
    m.eval()
    with torch.no_grad():
        save_npy(os.path.join(OUT, "conv_bn_dropout.eval_out.npy"), m(x).numpy())
    # The core ATen form: functional batch norm whose running statistics come
    # back as buffer-mutation outputs.
    m.train()
    core = torch.export.export(m, (x,)).run_decompositions()
    torch.export.save(core, os.path.join(OUT, "conv_bn_dropout.core_aten.pt2"))


def zip_bytes(entries, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            z.writestr(info, data)
    return buf.getvalue()


def write_hostile():
    ok = [("m/archive_format", b"pt2"), ("m/models/model.json", b"{}")]
    cases = {
        "absolute_name.zip": ok + [("/etc/evil", b"x")],
        "dotdot_name.zip": ok + [("m/../../evil", b"x")],
        "backslash_name.zip": ok + [("m\\evil", b"x")],
    }
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate
        cases["duplicate_entry.zip"] = ok + [("m/models/model.json", b"[]")]
        for name, entries in cases.items():
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(zip_bytes(entries))
    good = zip_bytes(ok)
    with open(os.path.join(OUT, "truncated.zip"), "wb") as f:
        f.write(good[: len(good) // 2])
    # A deflate entry of 1 MiB of zeros whose headers declare 16 bytes.
    bomb = bytearray(zip_bytes([("m/bomb", bytes(1 << 20))], zipfile.ZIP_DEFLATED))
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = bomb.find(sig)
        struct.pack_into("<I", bomb, at + off, 16)
    with open(os.path.join(OUT, "bomb.zip"), "wb") as f:
        f.write(bytes(bomb))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_models()
    write_hostile()
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "Made by `python3 python/tools/make_pt2_testdata.py` with torch "
            f"{torch.__version__} (numpy {np.__version__}).\n\n"
            "- `conv_bn_dropout.train.pt2`: torch.export.export of a conv, "
            "batch norm, relu, dropout, linear module in train mode "
            "(training IR).\n"
            "- `conv_bn_dropout.core_aten.pt2`: the same after "
            "run_decompositions() (core ATen, buffer mutations as outputs).\n"
            "- `conv_bn_dropout.x.npy`, `conv_bn_dropout.eval_out.npy`: an "
            "input and eager `model.eval()(x)`.\n"
            "- `*.zip`: hostile archives (absolute, `..` and backslash entry "
            "names, a duplicate entry, a truncated archive, a deflate entry "
            "that expands past its declared size).\n")


if __name__ == "__main__":
    sys.exit(main())
