;; Float-to-int: NaN and range checks before cvtt (trapping), clamps (saturating).
(module
  (func (param f64) (result i32)
    (i32.trunc_f64_s (local.get 0)))
  (func (param f32) (result i64)
    (i64.trunc_sat_f32_u (local.get 0))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 48 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,30h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000055h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: ucomisd xmm0,xmm0
;;     26: jp      0000000000000057h
;;     2c: ucomisd xmm0,[60h]
;;     34: jbe     0000000000000059h
;;     3a: ucomisd xmm0,[68h]
;;     42: jae     0000000000000059h
;;     48: cvttsd2si eax,xmm0
;;     4c: mov     rbx,[rbp-8]
;;     50: mov     rsp,rbp
;;     53: pop     rbp
;;     54: ret
;;     55: ud2  ; trap: StackOverflow
;;     57: ud2  ; trap: BadConversionToInteger
;;     59: ud2  ; trap: IntegerOverflow
;;     5b: int3
;;     5c: int3
;;     5d: int3
;;     5e: int3
;;     5f: int3
;;     60: add     [rax],al
;;     62: and     [rax],al
;;     64: add     [rax],al
;;     66: loopne  0000000000000029h
;;     68: add     [rax],al
;;     6a: add     [rax],al
;;     6c: add     [rax],al
;;     6e: loopne  00000000000000B1h
;; function 1: frame 48 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,30h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000093h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: xor     eax,eax
;;     24: ucomiss xmm0,xmm0
;;     27: jp      000000000000008Ah
;;     2d: mov     eax,0
;;     32: ucomiss xmm0,[0A0h]
;;     39: jbe     000000000000008Ah
;;     3f: mov     rax,0FFFFFFFFFFFFFFFFh
;;     46: ucomiss xmm0,[0A4h]
;;     4d: jae     000000000000008Ah
;;     53: ucomiss xmm0,[0A8h]
;;     5a: jae     000000000000006Ah
;;     60: cvttss2si rax,xmm0
;;     65: jmp     000000000000008Ah
;;     6a: movapd  xmm15,xmm0
;;     6f: subss   xmm15,[0A8h]
;;     78: cvttss2si rax,xmm15
;;     7d: mov     r11,8000000000000000h
;;     87: xor     rax,r11
;;     8a: mov     rbx,[rbp-8]
;;     8e: mov     rsp,rbp
;;     91: pop     rbp
;;     92: ret
;;     93: ud2  ; trap: StackOverflow
;;     95: int3
;;     96: int3
;;     97: int3
;;     98: int3
;;     99: int3
;;     9a: int3
;;     9b: int3
;;     9c: int3
;;     9d: int3
;;     9e: int3
;;     9f: int3
;;     a0: add     [rax],al
;;     a2: cmp     byte ptr [rdi+5F800000h],0
;;     a9: add     [rax],al
;;     ab: pop     rdi
