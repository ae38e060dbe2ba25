# Bob imports it like any bundle and reaches the daemon with his own certificate.
mbundle import dev-for-bob.mbundle -i ~/bob-key.txt
mbundle ls
eval "$(mbundle env dev)"
docker version --format '{{.Server.Version}}'
openssl x509 -in "$DOCKER_CERT_PATH/cert.pem" -noout -subject
