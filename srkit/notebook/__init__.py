"""What the notebooks use and the library never imports: the cache and mode (:mod:`.env`), models
for the notebooks (:mod:`.models`), cached training runs (:mod:`.artifacts`), figures and tables
(:mod:`.figures`), small experiments (:mod:`.experiments`) and the widgets (:mod:`.widgets`).
"""
