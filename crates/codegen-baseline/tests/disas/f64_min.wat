;; f64.min handles NaN and signed zeros around minsd.
(module
  (func (param f64 f64) (result f64)
    (f64.min (local.get 0) (local.get 1))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000058h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: movapd  xmm2,xmm0
;;     26: ucomisd xmm2,xmm1
;;     2a: jp      000000000000003Eh
;;     30: jne     0000000000000047h
;;     36: orps    xmm2,xmm1
;;     39: jmp     000000000000004Bh
;;     3e: addsd   xmm2,xmm1
;;     42: jmp     000000000000004Bh
;;     47: minsd   xmm2,xmm1
;;     4b: movapd  xmm0,xmm2
;;     4f: mov     rbx,[rbp-8]
;;     53: mov     rsp,rbp
;;     56: pop     rbp
;;     57: ret
;;     58: ud2  ; trap: StackOverflow
