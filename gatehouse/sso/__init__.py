"""Single sign-on with OpenID Connect (SPEC §16): one identity provider per master account for its
people, and one for operators."""
