"""``explainer serve``: the live explorer, a Starlette application served by
uvicorn on the loopback interface.

- :mod:`~explainer.serve.app`: the application and its routes;
- :mod:`~explainer.serve.api`: the JSON API (trace, verify, generate, report);
- :mod:`~explainer.serve.page`: the page, the report made live;
- :mod:`~explainer.serve.inputs`: a request's JSON body read into checked values;
- :mod:`~explainer.serve.limits`: how much one request may ask for;
- :mod:`~explainer.serve.models`: the models, loaded once and shared by requests.
"""
