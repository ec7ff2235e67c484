"""Grades out to learning-management systems: Canvas, Moodle and nbgrader.

Every exporter reads only what `grade` wrote (OUT/results/*.json and the reports in
OUT/reports/) and, for Canvas and Moodle, fills the instructor's own export file
rather than making one up, so localised headers, extra columns and rows survive.

    results (results.py) + roster file -> roster.py (who is who) -> one module per system
"""
