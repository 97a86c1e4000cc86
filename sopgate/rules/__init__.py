"""The evaluator's rule families, one module each (STYLE.md, "Where new rules go").

Each module has one entry point that returns what it found plus the reasons for it, so
:class:`sopgate.evaluate._Judge` stays orchestration: needs -> approvals -> checks ->
evidence -> timing -> state.

- :mod:`.people` — logins, roles, bots, the change's contributors, who is excluded.
- :mod:`.approvals` — approval rules: sources, freshness, ``after``, ``max_age``,
  contributors, four eyes, separation of duties, rejections across sources.
- :mod:`.evidence` — evidence files and their ``require`` thresholds (JMESPath).
- :mod:`.timing` — change windows (``timezone: region`` included) and scoped freezes.
- :mod:`.starting` — ``run_by``: who may start a step.
- :mod:`.emergency` — break-glass overrides and what they may bypass.
"""
