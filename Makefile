# The two commands the README promises: `make demo` and `make test`.
.PHONY: setup demo test test-full lint typecheck bench clean

setup:
	@scripts/setup

demo: setup
	.venv/bin/voiceguide demo --out demo-output

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: setup
	.venv/bin/mypy

test: lint typecheck
	.venv/bin/pytest -q

# The property tests with the large example budget (>= 100000 generated sessions), and
# the content fuzz test with >= 10000 generated content mutations.
test-full: lint typecheck
	VOICEGUIDE_HYPOTHESIS_PROFILE=full .venv/bin/pytest -q tests/test_safety_properties.py tests/test_content_fuzz.py

clean:
	rm -rf .venv demo-output .mypy_cache .ruff_cache .pytest_cache .hypothesis
