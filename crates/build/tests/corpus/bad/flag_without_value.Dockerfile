FROM alpine
RUN --network apk add x
