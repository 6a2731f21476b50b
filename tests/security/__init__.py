"""Security tests: prompt injection, output safety, uploads, access control.

Each test states the safe behaviour it asserts and, where the defence is partial, what is and
is not guaranteed. ``xfail(strict=True)`` marks a gap found here; it turns into a failure
(XPASS) once fixed, so the marker is removed together with the gap.
"""
