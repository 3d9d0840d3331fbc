"""Operations: what staff see of the running system (the call trace, its timeline, the API catalog).
At the top, beside the site: it reads every layer's declarations and spans; no layer imports it."""
