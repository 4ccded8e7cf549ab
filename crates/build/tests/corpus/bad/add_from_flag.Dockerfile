FROM alpine
ADD --from=build /a /b
