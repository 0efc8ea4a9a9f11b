"""The API's description, beside the request path rather than on it: the OpenAPI 3.1 document
(``document``) written from the routes (``operations``, built of ``objects``), the request
models and the response models of ``contract``; the field rules as the document states them
(``rule_schemas``); and the browsable page over it (``docs``)."""
