"""Pure routing rules: the working-day calendar (later: emergency lines, groups, dispatch).

Only two modules touch anything outside: ``holidays_cn`` (the only importer of
the ``chinesecalendar`` package's tables) and ``calendar_config`` (reads
``config/calendar.yaml``). Everything else takes data and time as parameters.
"""
