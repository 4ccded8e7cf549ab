FROM busybox
RUN echo one \
# a comment Docker drops
    two \

    three
   run    echo   lower-case keyword \   
  four
ENV A=1 \
    B=2
RUN echo a # not a comment
