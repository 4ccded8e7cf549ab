FROM golang:1.22 AS Build
WORKDIR /src
COPY . .
RUN go build -o /out/app ./cmd/app

FROM build AS test
RUN go test ./...

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
COPY --from=0 /src/LICENSE /LICENSE
ENTRYPOINT ["/app"]
