"""The xAI Management API emulator as a package: one module per concept.

tests/emulator/server.py is the entry point (command line, port file, signals). Modules,
each depending only on those listed above it:

  wire                proto3 JSON encoding, ApiError, typed request values
  config              Config (the options) and the fixed key identities
  seed                the data sets and static team data (models, billing, owner)
  state               the records and State, with State.lock
  shapes              JSON shapes of stored records
  body                request body framing (Content-Length / chunked)
  multipart           streaming multipart/form-data parser
  exchange            Request and Response
  faults              fault injection (/_emu/faults) and response spoilers
  variants            legal readings of what the API leaves open (/_emu/variants)
  stats               request counters (/_emu/stats)
  paging              pagination tokens
  filters             the collections `filter` language
  routing             Route, Router (the route table) and ApiBase
  usage               usage analytics series
  routes_auth         /auth/... and /audit/...: API keys, models, endpoints, audit
  routes_billing      /v1/billing/teams/{team_id}/...
  routes_collections  /v1/collections/...
  routes_files        api.x.ai: Files API, document search, /v1/api-key
  bearer              bearer-token authentication
  control             the /_emu/ control API
  app                 App: State, routes, dispatch of one request
  httpd               the HTTP/1.1 handler and threaded server

Locks: State.lock (see state.py) guards all resources; Faults.lock and Stats.lock guard
their own fields, Variants.lock too. They are never nested, and none is held while a response is written.
"""
