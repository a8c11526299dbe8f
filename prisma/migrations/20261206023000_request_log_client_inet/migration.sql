-- The request log's client_ip filter accepts CIDRs (issue 19). client_ip is text written by data planes; a value that
-- is not an address must make a row not match, never fail the whole query, so the cast is guarded. Dotted quads
-- (the common case) are checked by a regex that only lets valid IPv4 through and cast directly; anything else goes
-- through the exception-guarded cast (a subtransaction, so it is kept off the IPv4 path).
CREATE FUNCTION "request_log_try_inet"(value text) RETURNS inet
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  RETURN value::inet;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;

CREATE FUNCTION "request_log_client_inet"(value text) RETURNS inet
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE
    WHEN value ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'
      THEN value::inet
    ELSE "request_log_try_inet"(value)
  END
$$;
