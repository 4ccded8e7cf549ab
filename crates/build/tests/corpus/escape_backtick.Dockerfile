# escape=`

FROM mcr.microsoft.com/windows/servercore:ltsc2022
WORKDIR C:\Users\Public
COPY app\bin C:\app\bin
RUN dir c:\ `
    && echo done
ENV TARGET=C:\tools\`$NOT_A_VAR
