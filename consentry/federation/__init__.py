"""Sign-in through enterprise OpenID Connect providers (connections with ``strategy: "oidc"``)."""
