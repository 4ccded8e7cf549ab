FROM alpine
COPY --form=build /a /b
