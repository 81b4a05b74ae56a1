"""Integration tests: a lifecycle-faithful model of one CNB build, and real pack builds."""
