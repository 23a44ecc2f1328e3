import pytest

from rs_docker.errors import UsageError
from rs_docker.models.security import (
    RLIM_INFINITY,
    cpus_to_quota,
    memory_resources,
    parse_memory,
    parse_ulimit,
)


@pytest.mark.parametrize("text, soft, hard", [
    ("nofile=1024:2048", 1024, 2048),
    ("nproc=50", 50, 50),
    ("core=-1", RLIM_INFINITY, RLIM_INFINITY),
    ("memlock=0:unlimited", 0, RLIM_INFINITY),
])
def test_parse_ulimit(text, soft, hard):
    rl = parse_ulimit(text)
    assert (rl["soft"], rl["hard"]) == (soft, hard)
    assert rl["type"] == "RLIMIT_" + text.split("=")[0].upper()


@pytest.mark.parametrize("text, message", [
    ("nofile", "invalid ulimit argument"),
    ("bogus=1", "invalid ulimit type: bogus"),
    ("nofile=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("nofile=2048:1024", "soft limit must be less than or equal to hard limit: 2048 > 1024"),
])
def test_parse_ulimit_errors(text, message):
    with pytest.raises(UsageError, match=message):
        parse_ulimit(text)


@pytest.mark.parametrize("text, value", [
    ("32m", 32 * 2**20), ("32M", 32 * 2**20), ("32mb", 32 * 2**20), ("1g", 2**30),
    ("1.5k", 1536), ("100", 100), ("2MiB", 2 * 2**20), ("1 t", 2**40),
])
def test_parse_memory(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text, message", [
    ("", "invalid size: ''"), ("m", "invalid size: 'm'"), ("-1m", "invalid size: '-1m'"),
    ("12x", "invalid suffix: 'x'"), ("1.2.3m", 'parsing "1.2.3": invalid syntax'),
])
def test_parse_memory_errors(text, message):
    with pytest.raises(UsageError, match=message):
        parse_memory(text)


def test_memory_swap_defaults_to_twice_memory():
    assert memory_resources("32m") == {"limit": 32 * 2**20, "swap": 64 * 2**20}


def test_memory_swap_is_memory_plus_swap_or_unlimited():
    assert memory_resources("32m", "48m")["swap"] == 48 * 2**20
    assert memory_resources("32m", "-1")["swap"] == -1
    assert memory_resources(None) == {}


@pytest.mark.parametrize("mem, swap, message", [
    ("1m", None, "Minimum memory limit allowed is 6MB"),
    ("32m", "16m", "memoryswap limit should be larger than memory limit"),
    (None, "64m", "always set the Memory limit"),
])
def test_memory_errors(mem, swap, message):
    with pytest.raises(UsageError, match=message):
        memory_resources(mem, swap)


@pytest.mark.parametrize("cpus, quota", [("1.5", 150000), ("0.5", 50000), (2, 200000),
                                         ("0.01", 1000)])
def test_cpus_to_cfs_quota(cpus, quota):
    assert cpus_to_quota(cpus) == {"quota": quota, "period": 100000}


def test_cpus_zero_means_no_limit():
    assert cpus_to_quota("0") == {}


@pytest.mark.parametrize("cpus, message", [
    ("abc", 'failed to parse abc as a rational number'),
    ("3", "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    ("-1", "range of CPUs"),
])
def test_cpus_errors(cpus, message):
    with pytest.raises(UsageError, match=message):
        cpus_to_quota(cpus, ncpu=2)
