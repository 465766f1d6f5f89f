"""Local stacks (`python -m local run`) driven over HTTP. Each stack has its own moto inside its process; the sandbox
starts here too, so that a stack's workers inherit the file that records the functions' AWS calls."""

from tests import sandbox

sandbox.start()
