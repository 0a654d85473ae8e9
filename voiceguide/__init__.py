"""voiceguide: an offline, hands-free voice guide for hip pain.

Layout follows the flow of a session:
``audio`` (the edges: files, devices, voice activity) -> ``speech`` (recognition and
synthesis engines, one adapter each) -> ``dialogue`` (pure safety dialogue and exercise
coach over typed events) -> ``runtime`` (drives the dialogue with a real clock and real
input/output) -> ``cli``.
"""

__version__ = "0.1.0"
