"""Pure routing rules: the working-day calendar (later: emergency lines, groups, dispatch).

Only three modules touch anything outside: ``holidays_cn`` (the only importer of
the ``chinesecalendar`` package's tables), ``calendar_config`` (reads
``config/calendar.yaml``) and ``clock`` (the product's one reader of the wall
clock). Everything else takes data and time as parameters.
"""
