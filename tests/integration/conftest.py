"""Fixtures: one emulator per module (reset per test) and a mount per test."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import util  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long runs, in the meson 'slow' suite")
    config.addinivalue_line("markers", "stress: the mixed-load run, the meson test 'stress' "
                            "(default suite on the plain build)")
    if not os.path.exists("/dev/fuse"):
        raise pytest.UsageError("integration tests need /dev/fuse (FUSE) on this machine")
    if os.geteuid() != 0 and not os.access("/dev/fuse", os.R_OK | os.W_OK):
        raise pytest.UsageError("integration tests need access to /dev/fuse")


@pytest.fixture(scope="module")
def emu_module():
    e = util.Emulator(seed="sample")
    yield e
    e.stop()


@pytest.fixture
def emu(emu_module):
    emu_module.reset("sample")
    yield emu_module


@pytest.fixture
def mount_factory(emu):
    mounts = []

    def make(options=(), **kw):
        m = util.Mount(emu, options, **kw)
        mounts.append(m)
        return m

    yield make
    errors = []
    for m in mounts:
        try:
            m.stop()
        except AssertionError as exc:
            errors.append(str(exc))
    if errors:
        pytest.fail("\n".join(errors))


@pytest.fixture
def mnt(mount_factory):
    """A mount with caching as a user gets it by default."""
    return mount_factory()
