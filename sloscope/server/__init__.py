"""The sloscope server side: configuration and the composition of the server roles."""
