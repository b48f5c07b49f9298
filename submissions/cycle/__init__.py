"""The monthly cycle: timetable and lock, cut-offs, compliance, statistics and extracts.

``timetable`` (deadlines and working days), ``services`` (writes: reopen, cut off, remind,
extract), ``selectors`` (reads: compliance register, provider statuses, version diffs,
statistics), ``statistics`` (the SQL), ``extracts`` (the files).
"""
