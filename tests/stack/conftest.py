"""Local stacks (`python -m local run`) driven over HTTP. Each stack has its own moto inside its process; the sandbox
starts here too, so that a stack's workers inherit the file that records the functions' AWS calls."""

from collections.abc import Iterator

import pytest

from local.receiver import Receiver
from tests import sandbox

sandbox.start()


@pytest.fixture(scope="module")
def stack_receiver() -> Iterator[Receiver]:
    """The webhook receiver of a module's local stack: the stack starts once per module, pointed at it."""
    running = Receiver().start()
    yield running
    running.stop()
